"""Exemption request pages: asking (from My items or an item's page), the list, one request with its
items, and the analyst's approval or rejection. The work and every check of who asks are
governance/exemption_requests.py's; another tower's request or item is a missing one (404)."""

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from audit import trail
from governance.exemption_requests import (
    APPROVERS,
    Ask,
    decide_request,
    request_exemption,
    visible_requests,
)
from governance.models import Assignment, RequestState
from governance.roles import role_of
from governance.scoping import visible_assignments
from governance.selectors import ITEM_RELATED
from posture.errors import UserError
from posture.scope import Scope
from web.pages.form_values import form_date
from web.pages.rendering import paginate, render_page, scoped

STATE_FILTERS = (("", "All"), *RequestState.choices)


def ask_from(request: HttpRequest) -> Ask:
    post = request.POST
    return Ask(
        category=post.get("category", ""),
        justification=post.get("justification", "")[:5000],
        expires_on=form_date(post.get("expires_on", ""), "the expiry"),
    )


def selected_items(request: HttpRequest) -> list[Assignment]:
    """The items named in the form that the user sees; any other makes the whole selection refused
    with the words a missing item gets."""
    raw = request.POST.getlist("item")
    if not raw:
        raise UserError("select at least one item")
    if not all(value.isascii() and value.isdigit() and len(value) < 19 for value in raw):
        raise UserError("the selection is not a list of item numbers")
    wanted = {int(value) for value in raw}
    items = list(visible_assignments(request.user).filter(pk__in=wanted).select_related(*ITEM_RELATED))
    refused = sorted(wanted - {item.pk for item in items})
    if refused:
        numbers = ", ".join(f"#{pk}" for pk in refused)
        raise UserError(f"you cannot change {len(refused)} of the {len(wanted)} selected items ({numbers})")
    return sorted(items, key=lambda item: item.pk)


@require_POST
def exemption_request_create(request: HttpRequest) -> HttpResponse:
    """Ask for an exemption of the selected items; back to where they were selected."""
    back = reverse("my-items")
    single = request.POST.getlist("item")
    one = int(single[0]) if len(single) == 1 and single[0].isascii() and single[0].isdigit() else 0
    # Back to the item's page when it is one the user sees (any other reads as a missing one).
    if (
        request.POST.get("back") == "item"
        and 0 < one < 2**62
        and visible_assignments(request.user).filter(pk=one).exists()
    ):
        back = reverse("item", args=[one])
    try:
        items = selected_items(request)
        made = request_exemption(
            user=request.user, items=items, ask=ask_from(request), ip=trail.client_ip(request)
        )
    except UserError as error:
        messages.error(request, f"No request made: {error.message}.")
        return HttpResponseRedirect(back)
    messages.success(
        request,
        f"Exemption request #{made.pk} ({made.get_category_display()} until {made.expires_on:%Y-%m-%d}, "
        f"{len(items)} item{'' if len(items) == 1 else 's'}) waits for an analyst's approval.",
    )
    return HttpResponseRedirect(back)


@require_safe
@scoped
def exemption_request_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in RequestState.values:
        state = ""
    requests = (
        visible_requests(request.user)
        .select_related("requested_by", "decided_by")
        .annotate(item_count=Count("items"))
    )
    if state:
        requests = requests.filter(state=state)
    page_obj = paginate(request, requests.order_by("-requested_at", "-pk"))
    context = {
        "nav": "my-items" if role_of(request.user) not in APPROVERS else "governance-report",
        "page_obj": page_obj,
        "state": state,
        "states": STATE_FILTERS,
        "may_decide": role_of(request.user) in APPROVERS,
    }
    return render_page(request, "governance/exemption_request_list.html", context, scope)


@require_safe
@scoped
def exemption_request_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    found = get_object_or_404(
        visible_requests(request.user).select_related("requested_by", "decided_by"), pk=pk
    )
    # A tower's members see the request's items of their towers only (a request names one tower's).
    items = visible_assignments(request.user).filter(exemption_requests=found).select_related(*ITEM_RELATED)
    may_decide = (
        role_of(request.user) in APPROVERS
        and found.state == RequestState.PENDING
        and found.requested_by_id != request.user.pk
    )
    context = {
        "nav": "my-items" if role_of(request.user) not in APPROVERS else "governance-report",
        "exemption_request": found,
        "items": items.order_by("pk"),
        "exemptions": found.exemptions.select_related("recommendation", "resource"),
        "may_decide": may_decide,
        "own_request": found.requested_by_id == request.user.pk,
        "today": timezone.localdate(),
    }
    return render_page(request, "governance/exemption_request_detail.html", context, scope)


@require_POST
def exemption_request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(visible_requests(request.user), pk=pk)
    decision = request.POST.get("decision", "")
    try:
        if decision not in ("approve", "reject"):
            raise UserError("choose Approve or Reject")
        decided = decide_request(
            user=request.user,
            request=found,
            approve=decision == "approve",
            note=request.POST.get("note", "")[:5000],
            ip=trail.client_ip(request),
        )
    except UserError as error:
        messages.error(request, f"Nothing decided: {error.message}.")
    else:
        messages.success(request, f"Request #{decided.pk} {decided.get_state_display().lower()}.")
    return HttpResponseRedirect(reverse("exemption-request", args=[found.pk]))
