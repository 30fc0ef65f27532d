"""Pages of the estate (the resource list and one resource, with its OS-configuration findings and scans),
and the subscription scope every page shares.

Every page reads `?subscription=` (a name or a cloud id, `group:<name>` for a group of subscriptions;
empty means all subscriptions), keeps it in its links through `scope_query`, and answers an unknown
subscription or group with a message and a 404.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from governance.scoping import restrict, scope_for_user
from posture.errors import EmptyGroup, UnknownSubscription, UserError
from posture.models import MACHINE_KINDS, AgentError, Resource, ResourceKind
from posture.scope import (
    ESTATE,
    GROUP_PREFIX,
    Scope,
    groups_holding,
    only_visible,
    scope_parameter,
    visible_subscriptions,
)
from recommendations.kubernetes_selectors import cluster_evidence
from recommendations.models import FindingState
from recommendations.rule_selectors import machine_findings, machine_scans, machine_state_counts
from recommendations.selectors import (
    RESOURCE_COLUMNS,
    ResourceFilter,
    ResourceState,
    filtered_resources,
    os_choices,
    resource_assessments,
    valid_sort,
)
from scoring.models import Control

PAGE_SIZE = 50

Row = TypeVar("Row", bound=Model)
P = ParamSpec("P")


class BadFilter(UserError):
    pass


# A machine's findings by state, in the order of its tabs on the resource page.
FINDING_TABS = (
    FindingState.OPEN,
    FindingState.RESOLVED,
    FindingState.NOT_EVALUATED,
    FindingState.PASSED,
    FindingState.NOT_APPLICABLE,
)
FINDING_TAB_LABELS: dict[str, str] = {
    FindingState.OPEN: "Failed",
    FindingState.RESOLVED: "Resolved",
    FindingState.NOT_EVALUATED: "Not evaluated",
    FindingState.PASSED: "Passed",
    FindingState.NOT_APPLICABLE: "Not applicable",
}


def scope_of(request: HttpRequest) -> Scope:
    """The scope `?subscription=` selects, narrowed to what the user may see (a tower's members see
    their tower's resources only); raises UnknownSubscription (a UserError)."""
    return scope_for_user(request.GET.get("subscription", ""), request.user)


def scoped(
    view: Callable[Concatenate[HttpRequest, Scope, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """A page view gets the scope `?subscription=` selects; an unknown subscription is the page's 404."""

    @wraps(view)
    def with_scope(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            scope = scope_of(request)
        except UserError as error:
            return render_user_error(request, error, 404)
        return view(request, scope, *args, **kwargs)

    return with_scope


def scope_query(scope: Scope) -> QueryDict:
    """The query that keeps a scope in links: `{% querystring scope_query other=value %}`."""
    query = QueryDict(mutable=True)
    value = scope_parameter(scope)
    if value:
        query["subscription"] = value
    return query


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], scope: Scope, status: int = 200
) -> HttpResponse:
    """Render a page with what the header's scope selector and the page's links need."""
    # The selector keeps the page's other parameters (tab, sort, filters) but starts again at page one.
    keep = [
        (name, value)
        for name, values in request.GET.lists()
        if name not in ("subscription", "page")
        for value in values
    ]
    choosable = visible_subscriptions(scope)
    shared = {
        "scope": scope,
        "scope_query": scope_query(scope),
        "scope_choices": list(choosable.order_by("name").values_list("name", flat=True)),
        # (value, name) of the groups holding a subscription the user may choose.
        "scope_groups": [
            (GROUP_PREFIX + name, name) for name in groups_holding(choosable).values_list("name", flat=True)
        ],
        # The selected `?subscription=` value, for the selector and the pages' own filter forms.
        "scope_value": scope_parameter(scope),
        "scope_keep": keep,
    }
    return render(request, template, {**shared, **context}, status=status)


def render_user_error(request: HttpRequest, error: UserError, status: int) -> HttpResponse:
    """The page's place taken by the user's mistake, said plainly; the scope falls back to all the
    user may see."""
    if isinstance(error, UnknownSubscription):
        title = "Unknown subscription"
    elif isinstance(error, EmptyGroup):
        title = "Empty group"
    else:
        title = "Invalid filter"
    context = {"title": title, "message": error.message}
    return render_page(request, "posture/user_error.html", context, restrict(ESTATE, request.user), status)


def paginate(request: HttpRequest, queryset: QuerySet[Row]) -> Page[Row]:
    """The requested page; a page number out of range gives the last page, a non-number the first."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _resource_filter(request: HttpRequest, scope: Scope) -> tuple[ResourceFilter, Control | None]:
    control = None
    raw_control = request.GET.get("control", "")
    if raw_control:
        try:
            control_id = int(raw_control)
        except ValueError:
            raise BadFilter(f"control must be a number, not {raw_control!r}") from None
        control = Control.objects.filter(pk=control_id).first()
        if control is None:
            raise BadFilter(f"there is no control {raw_control}")
    state = request.GET.get("state", "") or None
    if state is not None and state not in dict(ResourceState.CHOICES):
        raise BadFilter(f"unknown state {state!r}: use one of {', '.join(dict(ResourceState.CHOICES))}")
    kind = request.GET.get("kind", "")
    if kind and kind not in ResourceKind.values:
        raise BadFilter(f"unknown kind {kind!r}: use one of {', '.join(ResourceKind.values)}")
    os = request.GET.get("os", "")
    if os and os not in dict(os_choices()):
        raise BadFilter(f"unknown OS {os!r}: use one of {', '.join(dict(os_choices()))}")
    query = request.GET.get("q", "").strip()
    if "\x00" in query:
        raise BadFilter("a name cannot contain a NUL character")
    filters = ResourceFilter(
        scope=scope, control_id=control.pk if control else None, state=state, kind=kind, os=os, query=query
    )
    return filters, control


@require_safe
@scoped
def resource_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        filters, control = _resource_filter(request, scope)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    sort = valid_sort(request.GET.get("sort"), RESOURCE_COLUMNS)
    context = {
        "nav": "resources",
        "filters": filters,
        "control": control,
        "state_label": dict(ResourceState.CHOICES).get(filters.state or ""),
        "page_obj": paginate(request, filtered_resources(filters, sort)),
        "columns": RESOURCE_COLUMNS,
        "sort": sort,
        "controls": Control.objects.order_by("position", "name"),
        "states": ResourceState.CHOICES,
        "kinds": ResourceKind.choices,
        "oses": os_choices(),
    }
    return render_page(request, "posture/resource_list.html", context, scope)


@require_safe
@scoped
def resource_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    # Another tower's machine is not there for a tower's members, even by a guessed id: a 404.
    resources = only_visible(Resource.objects.select_related("subscription", "parent"), scope)
    resource = get_object_or_404(resources, pk=pk)
    tags = sorted(resource.tags.items()) if isinstance(resource.tags, dict) else []
    # The OS-configuration tabs: failed rules first; resolved and not evaluated are never shown as failed.
    state = request.GET.get("state", "")
    if state not in FindingState.values:
        state = FindingState.OPEN
    counts = machine_state_counts(resource)
    scans, scans_total = machine_scans(resource)
    context = {
        "nav": "resources",
        "resource": resource,
        "in_scope": scope.is_estate or resource.subscription_id in (scope.subscription_ids or ()),
        "tags": tags,
        "instances": only_visible(resource.instances.order_by("name"), scope),
        "assessments": resource_assessments(resource),
        "shows_os_config": resource.kind in MACHINE_KINDS or scans_total > 0 or any(counts.values()),
        "finding_tabs": [(value, FINDING_TAB_LABELS[value], counts[value]) for value in FINDING_TABS],
        "finding_state": state,
        "finding_state_label": FINDING_TAB_LABELS[state],
        "findings": paginate(request, machine_findings(resource, state)),
        "scans": scans,
        "scans_total": scans_total,
        # A tower's member may see an instance without its scale set: then it is named, not linked.
        "parent_visible": resource.parent_id is not None
        and only_visible(Resource.objects.filter(pk=resource.parent_id), scope).exists(),
        "installable": resource.kind in (*MACHINE_KINDS, ResourceKind.VMSS),
        "agent_error": AgentError(resource.agent_error).label if resource.agent_error in AgentError else "",
        **cluster_evidence(resource),
    }
    return render_page(request, "posture/resource_detail.html", context, scope)
