"""Reads behind the pages: resources by their state in a control, assessments, and whitelisted sorting.

A resource's state in a control is decided exactly as scoring.engine counts it, but as a queryset
(EXISTS subqueries) so that a list can be filtered, sorted and paginated in the database:
- unhealthy: a counted recommendation of the control is Unhealthy on it;
- healthy: counted recommendations of the control are Healthy on it and none is Unhealthy;
- not applicable: it has assessments in the control but none of them counts;
- counted: healthy or unhealthy, what the engine weighs a subscription by.
Counted means Healthy or Unhealthy on a non-preview recommendation (any, with POSTURE_COUNT_PREVIEW).
Without a control, the states apply across all controls: unhealthy in any, healthy in all it counts in.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import OrderBy
from django.utils import timezone

from posture.models import OperatingSystem, Resource
from posture.scope import Scope
from recommendations.models import Assessment, AssessmentStatus, Recommendation


class ResourceState:
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    NOT_APPLICABLE = "not_applicable"
    COUNTED = "counted"

    CHOICES: tuple[tuple[str, str], ...] = (
        (UNHEALTHY, "Unhealthy"),
        (HEALTHY, "Healthy"),
        (NOT_APPLICABLE, "Not applicable"),
        (COUNTED, "Counted (healthy or unhealthy)"),
    )


# The `?os=` value for resources whose operating system is not known (stored as "").
UNKNOWN_OS = "unknown"


@dataclass(frozen=True)
class SortColumn:
    """A sortable table column: `?sort=key` ascending, `?sort=-key` descending."""

    key: str
    label: str
    fields: tuple[str, ...]

    @property
    def descending(self) -> str:
        return f"-{self.key}"


RESOURCE_COLUMNS = (
    SortColumn("name", "Name", ("name",)),
    SortColumn("subscription", "Subscription", ("subscription__name", "name")),
    SortColumn("resource_group", "Resource group", ("resource_group", "name")),
    SortColumn("kind", "Kind", ("kind", "name")),
    SortColumn("os", "OS", ("os", "name")),
    SortColumn("agent", "Agent", ("agent_state", "name")),
    SortColumn("heartbeat", "Last heartbeat", ("last_heartbeat", "name")),
)

ASSESSMENT_COLUMNS = (
    SortColumn("name", "Name", ("resource__name",)),
    SortColumn("subscription", "Subscription", ("resource__subscription__name", "resource__name")),
    SortColumn("resource_group", "Resource group", ("resource__resource_group", "resource__name")),
    SortColumn("kind", "Kind", ("resource__kind", "resource__name")),
    SortColumn("os", "OS", ("resource__os", "resource__name")),
    SortColumn("reason", "Reason", ("shown_reason", "resource__name")),
    SortColumn("status_changed", "Status changed", ("status_changed", "resource__name")),
)


def valid_sort(sort: str | None, columns: Iterable[SortColumn], default: str = "name") -> str:
    """The requested sort if it names a column (optionally with a leading "-"), else the default."""
    keys = {column.key for column in columns}
    if sort and sort.removeprefix("-") in keys:
        return sort
    return default


def ordering(sort: str, columns: Iterable[SortColumn]) -> list[OrderBy]:
    descending = sort.startswith("-")
    column = next(c for c in columns if c.key == sort.removeprefix("-"))
    # Nulls last both ways and the primary key last, so that every database pages the same rows.
    fields = [*column.fields, "pk"]
    if descending:
        return [F(name).desc(nulls_last=True) for name in fields]
    return [F(name).asc(nulls_last=True) for name in fields]


def _counted() -> Q:
    """Assessments the score counts: not preview (unless counted), and not Unhealthy in a grace period."""
    in_grace = Q(status=AssessmentStatus.UNHEALTHY, grace_until__gte=timezone.localdate())
    if settings.POSTURE_COUNT_PREVIEW:
        return ~in_grace
    return Q(recommendation__preview=False) & ~in_grace


def in_scope(scope: Scope, field: str) -> Q:
    """The condition for rows whose subscription is at `field` (a path ending in subscription_id):
    in the scope's subscriptions and, for a tower's members, among the tower's resources."""
    condition = Q()
    if scope.subscription_ids is not None:
        condition &= Q(**{f"{field}__in": scope.subscription_ids})
    if scope.resources is not None:
        prefix = field.removesuffix("subscription_id")
        condition &= Q(**{f"{prefix}pk__in" if prefix else "pk__in": scope.resources.values("pk")})
    return condition


def tallies_in_scope(scope: Scope, field: str) -> Q:
    """The condition on summary-table rows (kept per subscription): they cannot hide single resources,
    so a restricted scope must be answered from the findings themselves."""
    if scope.is_restricted:
        raise ValueError("summary tables cannot answer a scope restricted to some resources")
    if scope.subscription_ids is None:
        return Q()
    return Q(**{f"{field}__in": scope.subscription_ids})


def state_condition(state: str | None, control_id: int | None) -> Q:
    """The condition on Resource rows for a state in a control (any control when control_id is None)."""
    touched = Assessment.objects.filter(resource=OuterRef("pk"))
    if control_id is None:
        touched = touched.filter(recommendation__controls__isnull=False)
    else:
        touched = touched.filter(recommendation__controls=control_id)
    counted = touched.filter(_counted())
    unhealthy = Exists(counted.filter(status=AssessmentStatus.UNHEALTHY))
    scored = Exists(counted.filter(status__in=(AssessmentStatus.HEALTHY, AssessmentStatus.UNHEALTHY)))
    if state == ResourceState.UNHEALTHY:
        return Q(unhealthy)
    if state == ResourceState.HEALTHY:
        return Q(scored) & ~Q(unhealthy)
    if state == ResourceState.NOT_APPLICABLE:
        return Q(Exists(touched)) & ~Q(scored)
    if state == ResourceState.COUNTED:
        return Q(scored)
    if control_id is not None:
        return Q(Exists(touched))
    return Q()


@dataclass(frozen=True)
class ResourceFilter:
    scope: Scope
    control_id: int | None = None
    state: str | None = None
    kind: str = ""
    os: str = ""
    query: str = ""


def filtered_resources(filters: ResourceFilter, sort: str = "name") -> QuerySet[Resource]:
    """Resources matching the list page's filters, with their subscription, in the given valid sort."""
    queryset = Resource.objects.filter(
        in_scope(filters.scope, "subscription_id"), state_condition(filters.state, filters.control_id)
    )
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.os:
        queryset = queryset.filter(os="" if filters.os == UNKNOWN_OS else filters.os)
    if filters.query:
        queryset = queryset.filter(name__icontains=filters.query)
    return queryset.select_related("subscription").order_by(*ordering(sort, RESOURCE_COLUMNS))


def os_choices() -> list[tuple[str, str]]:
    return [(value or UNKNOWN_OS, label) for value, label in OperatingSystem.choices]


def status_counts(recommendation: Recommendation, scope: Scope) -> dict[str, int]:
    """How many resources in scope the recommendation finds healthy, unhealthy, not applicable."""
    rows = (
        Assessment.objects.filter(in_scope(scope, "resource__subscription_id"), recommendation=recommendation)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(AssessmentStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def recommendation_assessments(
    recommendation: Recommendation, *, scope: Scope, status: str, query: str = ""
) -> QuerySet[Assessment]:
    """One tab of a recommendation: its assessments of a status (whose resource's name or id contains
    `query`), each with `shown_reason` and its resource, unordered (`ordering` sorts them)."""
    assessments = Assessment.objects.filter(
        in_scope(scope, "resource__subscription_id"), recommendation=recommendation, status=status
    )
    if query:
        assessments = assessments.filter(
            Q(resource__name__icontains=query) | Q(resource__resource_id__icontains=query)
        )
    return assessments.select_related("resource__subscription").annotate(
        shown_reason=Case(When(reason="", then=F("cause")), default=F("reason"), output_field=TextField())
    )


def failing_recommendations(
    resource_ids: Iterable[int], control_id: int | None = None
) -> dict[int, list[Assessment]]:
    """For each resource given, the counted recommendations Unhealthy on it (in a control, or in any),
    each an Assessment with its recommendation and `shown_reason`: why a resource is unhealthy, as
    state_condition decides it."""
    assessments = Assessment.objects.filter(
        _counted(), resource_id__in=list(resource_ids), status=AssessmentStatus.UNHEALTHY
    )
    if control_id is None:
        assessments = assessments.filter(recommendation__controls__isnull=False)
    else:
        assessments = assessments.filter(recommendation__controls=control_id)
    assessments = (
        assessments.select_related("recommendation")
        .annotate(
            shown_reason=Case(When(reason="", then=F("cause")), default=F("reason"), output_field=TextField())
        )
        .order_by("resource_id", "recommendation__display_name", "pk")
        .distinct()
    )
    failing: dict[int, list[Assessment]] = {}
    for assessment in assessments:
        failing.setdefault(assessment.resource_id, []).append(assessment)
    return failing


def resource_assessments(resource: Resource) -> QuerySet[Assessment]:
    """All assessments of a resource, unhealthy first, with their recommendation."""
    status_order = Case(
        When(status=AssessmentStatus.UNHEALTHY, then=Value(0)),
        When(status=AssessmentStatus.HEALTHY, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Assessment.objects.filter(resource=resource)
        .select_related("recommendation")
        .order_by(status_order, "recommendation__display_name")
    )


def recommendations_by_id(ids: Iterable[int]) -> dict[int, Recommendation]:
    return Recommendation.objects.in_bulk(list(ids))
