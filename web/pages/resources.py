"""Pages of the estate: the resource list and one resource, with its OS-configuration findings and scans."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_safe

from governance.models import Assignment
from governance.scoping import visible_assignments
from governance.selectors import ITEM_RELATED
from posture.models import MACHINE_KINDS, AgentError, Resource, ResourceKind
from posture.scope import (
    Scope,
    only_visible,
)
from recommendations.cloud_finding_selectors import machine_cloud_findings
from recommendations.kubernetes_selectors import cluster_evidence
from recommendations.models import Assessment, FindingState
from recommendations.rule_selectors import machine_findings, machine_scans, machine_state_counts
from recommendations.selectors import (
    RESOURCE_COLUMNS,
    ResourceFilter,
    ResourceState,
    failing_recommendations,
    filtered_resources,
    os_choices,
    resource_assessments,
    valid_sort,
)
from recommendations.source_selectors import machine_sources
from scoring.models import Control
from web.pages.rendering import BadFilter, paginate, render_page, render_user_error, scoped

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


@dataclass(frozen=True)
class AssessmentRow:
    """An assessment of the resource and its item (None: nobody was given it, or not one the user sees)."""

    assessment: Assessment
    item: Assignment | None


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
    page_obj = paginate(request, filtered_resources(filters, sort))
    # Why each resource of the page is unhealthy: the recommendations it fails and their reasons.
    failing = failing_recommendations((resource.pk for resource in page_obj), filters.control_id)
    context = {
        "nav": "resources",
        "filters": filters,
        "control": control,
        "state_label": dict(ResourceState.CHOICES).get(filters.state or ""),
        "page_obj": page_obj,
        "rows": [(resource, failing.get(resource.pk, [])) for resource in page_obj],
        "columns": RESOURCE_COLUMNS,
        "sort": sort,
        "controls": Control.objects.order_by("position", "name"),
        "states": ResourceState.CHOICES,
        "kinds": ResourceKind.choices,
        "oses": os_choices(),
    }
    return render_page(request, "posture/resource_list.html", context, scope)


def cloud_details(resource: Resource) -> list[tuple[str, list[tuple[str, str]]]]:
    """What each cloud tool said of the machine, by tool, as text (EC2's placement, SSM's state...)."""

    def shown(value: object) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return str(value) if value is not None else ""

    details = resource.cloud_details if isinstance(resource.cloud_details, dict) else {}
    return [
        (source, [(name.replace("_", " "), shown(value)) for name, value in sorted(values.items())])
        for source, values in sorted(details.items())
        if isinstance(values, dict)
    ]


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
    # The items of the resource the user sees (a tower: its own), so an assigned assessment shows its
    # team, owner and due date with a link instead of an invitation to assign it again.
    items = list(
        visible_assignments(request.user)
        .filter(assessment__resource=resource)
        .select_related(*ITEM_RELATED)
        .order_by("finding_id", "due_date", "pk")
    )
    by_assessment = {item.assessment_id: item for item in items if item.finding_id is None}
    context = {
        "nav": "resources",
        "resource": resource,
        "in_scope": scope.is_estate or resource.subscription_id in (scope.subscription_ids or ()),
        "tags": tags,
        "instances": only_visible(resource.instances.order_by("name"), scope),
        "assessments": [AssessmentRow(a, by_assessment.get(a.pk)) for a in resource_assessments(resource)],
        "items": items,
        "today": timezone.localdate(),
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
        "agent_error": AgentError(resource.agent_error).label
        if resource.agent_error and resource.agent_error in AgentError
        else "",
        "sources": machine_sources(resource),
        "cloud_findings": machine_cloud_findings(resource),
        # What each cloud tool said of the machine, by tool (EC2's placement, SSM's managed state...).
        "cloud_details": cloud_details(resource),
        **cluster_evidence(resource),
    }
    return render_page(request, "posture/resource_detail.html", context, scope)
