"""Teams and users page (admins): create teams and users, change a user's role and team."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from governance.models import Membership, Team
from governance.people import create_team, save_person
from governance.roles import GROUPS, Role, listed_role
from posture.errors import UserError
from posture.scope import Scope
from web.pages.rendering import paginate, render_page, render_user_error, scoped


@require_safe
@scoped
def people(request: HttpRequest, scope: Scope) -> HttpResponse:
    # A page of users, each with the role and team read in two queries for the page, not per user.
    page_obj = paginate(request, User.objects.order_by("username", "pk").prefetch_related("groups"))
    memberships = Membership.objects.filter(user__in=[user.pk for user in page_obj]).select_related("team")
    teams_by_user: dict[int, Team] = {m.user_id: m.team for m in memberships}
    users = [
        {"user": user, "role": listed_role(user), "team": teams_by_user.get(user.pk)} for user in page_obj
    ]
    context = {
        "nav": "people",
        "users": users,
        "page_obj": page_obj,
        "teams": Team.objects.order_by("name"),
        "roles": [(role.value, GROUPS[role]) for role in Role],
    }
    return render_page(request, "governance/people.html", context, scope)


def _team(request: HttpRequest) -> Team | None:
    chosen = request.POST.get("team", "")
    if not chosen:
        return None
    if not chosen.isdigit():
        raise UserError("no such team")
    return get_object_or_404(Team, pk=int(chosen))


def _role(request: HttpRequest) -> Role:
    try:
        return Role(request.POST.get("role", ""))
    except ValueError:
        raise UserError(f"choose a role: {', '.join(r.value for r in Role)}") from None


@require_POST
def person_save(request: HttpRequest) -> HttpResponse:
    """Create a user, or change an existing one's role and team (the username names it)."""
    actor = cast(User, request.user)
    try:
        user, created = save_person(
            actor=actor,
            username=request.POST.get("username", ""),
            role=_role(request),
            team=_team(request),
            email=request.POST.get("email") if "email" in request.POST else None,
        )
    except UserError as error:
        return render_user_error(request, error, 400)
    if created:
        messages.success(
            request,
            f"User {user.username} created without a password: set one in the admin, or with "
            "manage.py changepassword.",
        )
    else:
        messages.success(request, f"User {user.username} saved.")
    return HttpResponseRedirect(reverse("people"))


@require_POST
def team_create(request: HttpRequest) -> HttpResponse:
    try:
        team, created = create_team(actor=cast(User, request.user), name=request.POST.get("name", ""))
    except UserError as error:
        return render_user_error(request, error, 400)
    messages.success(request, f"Team {team.name} {'created' if created else 'already exists'}.")
    return HttpResponseRedirect(reverse("people"))
