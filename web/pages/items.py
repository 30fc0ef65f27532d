"""Pages of assigned items: My items with its bulk actions, one item, assigning by hand, and the
governance report. Every change goes through governance/assignments.py, which checks the role and
writes the audit log; these views only read the form and say what happened."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from audit import trail
from governance.assignments import Change, assign, can_act_on, target_team, update_item
from governance.exemption_requests import show_requests, standing_requests, visible_requests
from governance.explanations import explain, item_history, show_severities
from governance.models import Assignment, AssignmentStatus, RequestCategory, RequestState, Team
from governance.scoping import visible_assignments, visible_resources
from governance.selectors import (
    ITEM_RELATED,
    STATUS_FILTERS,
    assignable_teams,
    governance_report,
    items_by_status,
    items_page,
    may_assign,
    team_members,
)
from posture.errors import UserError
from posture.scope import Scope
from recommendations.models import Assessment, Finding
from web.access import ACCESS, allows
from web.pages.form_values import form_date
from web.pages.rendering import render_page, scoped

BULK_ACTIONS = ("assign", "status", "eta", "comment")
# A tower lead's page at tens of thousands of items: a hundred at a time, the counts of all of them.
MY_ITEMS_PAGE_SIZE = 100


def _status(raw: str) -> str:
    if raw not in AssignmentStatus.values:
        raise UserError(f"choose a status: {', '.join(AssignmentStatus.labels)}")
    return raw


def _actor(request: HttpRequest) -> User | AnonymousUser:
    return request.user


# --- My items ---------------------------------------------------------------------------------------


@require_safe
@scoped
def my_items(request: HttpRequest, scope: Scope) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in dict(STATUS_FILTERS):
        status = ""
    chosen = items_by_status(request.user, scope, status)
    page = items_page(chosen, request.GET.get("page"), MY_ITEMS_PAGE_SIZE)
    shown = list(page.page_obj)
    show_severities(shown)
    show_requests(shown)
    teams = assignable_teams(request.user)
    context = {
        "nav": "my-items",
        "status": status,
        "status_label": dict(STATUS_FILTERS)[status],
        "status_filters": STATUS_FILTERS,
        "request_categories": RequestCategory.choices,
        "may_request": allows(ACCESS["exemption-request-create"], request.user),
        "pending_requests": visible_requests(request.user).filter(state=RequestState.PENDING).count(),
        "groups": page.groups,
        "page_obj": page.page_obj,
        "total": page.total,
        "statuses": AssignmentStatus.choices,
        "teams": teams,
        "members": team_members(teams),
        "can_assign": may_assign(request.user),
    }
    return render_page(request, "governance/my_items.html", context, scope)


def _bulk_change(request: HttpRequest, action: str) -> Callable[[Assignment], Change]:
    """The change one bulk action makes to each selected item, from the form; raises UserError."""
    post = request.POST
    if action == "assign":
        # The caller's role and the team's tower first (target_team); the owner is the service's to check.
        raw_team = post.get("team", "")
        team = target_team(_actor(request), raw_team) if raw_team.strip() else None
        owner = post.get("owner", "").strip()
        if not owner:
            raise UserError("give the email of the member to assign the items to")
        if team is not None:
            return lambda item: Change(team=team, owner=owner)

        def to_owner(item: Assignment) -> Change:
            if item.team is None:
                raise UserError(f"item #{item.pk} has no team: choose the team too")
            return Change(owner=owner)

        return to_owner
    if action == "status":
        status = _status(post.get("status", ""))
        return lambda item: Change(status=status)
    if action == "eta":
        eta = form_date(post.get("eta", ""), "the ETA")
        if eta is None:
            raise UserError("give the ETA")
        return lambda item: Change(eta=eta)
    comment = post.get("comment", "").strip()
    if not comment:
        raise UserError("write the comment to add")
    return lambda item: Change(comment=comment)


def _selected(request: HttpRequest) -> list[Assignment]:
    """The selected items the user may see, all of them or a UserError naming the others."""
    raw = request.POST.getlist("item")
    if not raw:
        raise UserError("select at least one item")
    if not all(value.isdigit() for value in raw):
        raise UserError("the selection is not a list of item numbers")
    wanted = {int(value) for value in raw}
    items = list(visible_assignments(request.user).filter(pk__in=wanted).select_related(*ITEM_RELATED))
    # The service checks each item again (can_act_on) and its refusal rolls everything back.
    refused = sorted(wanted - {item.pk for item in items})
    if refused:
        numbers = ", ".join(f"#{pk}" for pk in refused)
        raise UserError(f"you cannot change {len(refused)} of the {len(wanted)} selected items ({numbers})")
    return items


@require_POST
def items_bulk(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        if action not in BULK_ACTIONS:
            raise UserError(f"unknown action {action!r}")
        items = _selected(request)
        change_for = _bulk_change(request, action)
        # All or nothing: one refusal rolls back every change made before it (and its mails).
        with transaction.atomic():
            for item in items:
                update_item(
                    user=_actor(request), item=item, change=change_for(item), ip=trail.client_ip(request)
                )
    except UserError as error:
        messages.error(request, f"Nothing changed: {error.message}.")
    else:
        messages.success(request, f"{len(items)} item{'' if len(items) == 1 else 's'} changed.")
    # Back to the page the items were selected on.
    query = QueryDict(mutable=True)
    page, status = request.POST.get("page", ""), request.POST.get("status_filter", "")
    if status in dict(STATUS_FILTERS) and status:
        query["status"] = status
    if page.isdecimal():
        query["page"] = page
    return HttpResponseRedirect(reverse("my-items") + (f"?{query.urlencode()}" if query else ""))


# --- one item ---------------------------------------------------------------------------------------


@require_safe
@scoped
def item_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    # An item outside the user's towers does not exist for them: 404, not 403.
    item = get_object_or_404(visible_assignments(request.user).select_related(*ITEM_RELATED), pk=pk)
    can_act = can_act_on(request.user, item)
    context = {
        "nav": "my-items",
        "item": item,
        "comments": item.comments.select_related("author"),
        "history": item_history(item),
        "why": explain(item),
        "today": timezone.localdate(),
        "standing_request": standing_requests([item]).get(item.pk),
        "request_categories": RequestCategory.choices,
        "may_request": can_act and allows(ACCESS["exemption-request-create"], request.user),
        "statuses": AssignmentStatus.choices,
        "can_act": can_act,
        "can_assign": can_act and may_assign(request.user),
        "members": team_members(Team.objects.filter(pk=item.team_id or 0)),
    }
    return render_page(request, "governance/item_detail.html", context, scope)


@require_POST
def item_update(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(visible_assignments(request.user).select_related(*ITEM_RELATED), pk=pk)
    post = request.POST
    try:
        owner = post.get("owner", "").strip()
        reassign = bool(owner) and owner != item.owner
        change = Change(
            owner=owner if reassign else None,
            status=_status(post["status"]) if post.get("status") else None,
            eta=form_date(post.get("eta", ""), "the ETA"),
            clear_eta=post.get("clear_eta") == "on",
            comment=post.get("comment", ""),
        )
        update_item(user=_actor(request), item=item, change=change, ip=trail.client_ip(request))
    except UserError as error:
        messages.error(request, f"Nothing changed: {error.message}.")
    else:
        messages.success(request, "Item updated.")
    return HttpResponseRedirect(reverse("item", args=[item.pk]))


# --- assigning by hand ------------------------------------------------------------------------------


def _number(raw: str) -> int:
    """An id from a form; 0 (no object has it) for anything else."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 0


@require_POST
def assign_item(request: HttpRequest) -> HttpResponse:
    post = request.POST
    # An assessment outside the user's towers does not exist for them: the 404 of a missing one.
    assessments = Assessment.objects.select_related("resource")
    resources = visible_resources(request.user)
    if resources is not None:
        assessments = assessments.filter(resource__in=resources)
    assessment = get_object_or_404(assessments, pk=_number(post.get("assessment", "")))
    back = reverse("resource", args=[assessment.resource_id]) + "#assessments-heading"
    try:
        team = target_team(_actor(request), post.get("team", ""))
        raw_finding = post.get("finding", "")
        finding = None
        if raw_finding:
            # A failed rule of this machine (which the user sees): any other is one that does not exist.
            machine_findings = Finding.objects.filter(resource_id=assessment.resource_id)
            finding = machine_findings.filter(pk=_number(raw_finding)).first()
            if finding is None:
                raise UserError(f"there is no failed rule {raw_finding!r}")
        owner = post.get("owner", "").strip()
        if team is None and not owner:
            raise UserError("choose a team or give an owner")
        item = assign(
            user=_actor(request),
            assessment=assessment,
            team=team,
            owner=owner,
            due=form_date(post.get("due", ""), "the due date"),
            finding=finding,
            ip=trail.client_ip(request),
        )
    except UserError as error:
        messages.error(request, f"Not assigned: {error.message}.")
        return HttpResponseRedirect(back)
    who = ", ".join(part for part in (item.team.name if item.team else "", item.owner) if part)
    messages.success(request, f"Assigned to {who}, due {item.due_date:%Y-%m-%d}.")
    return HttpResponseRedirect(back)


# --- the governance report --------------------------------------------------------------------------


@require_safe
@scoped
def report(request: HttpRequest, scope: Scope) -> HttpResponse:
    context = {"nav": "governance-report", "report": governance_report(request.user, scope)}
    return render_page(request, "governance/report.html", context, scope)
