"""REST endpoints of the evidence: the recommendation and rule catalogs, assessments and findings.

The catalogs are the same for everybody; assessments and findings are the scope's (a tower's members
see their tower's resources only, and another's by id is a 404). Findings are selected by
governance.findings, the findings exports' filters, and carry their governance item's columns.
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from governance.findings import FindingFilterSet, findings_for, with_governance
from governance.models import AssignmentStatus
from posture.errors import UserError
from recommendations.models import (
    Assessment,
    AssessmentStatus,
    Benchmark,
    Finding,
    Recommendation,
    Rule,
    RuleSeverity,
    Severity,
)
from recommendations.selectors import in_scope
from scoring.models import Control
from web.api.base import (
    LIST_BACKENDS,
    MAX_ID,
    SUBSCRIPTION_PARAMETER,
    Cursor,
    IdFilter,
    Ordering,
    caller_scope,
)

# --- recommendations --------------------------------------------------------------------------------


class RecommendationSerializer(serializers.ModelSerializer[Recommendation]):
    controls: serializers.PrimaryKeyRelatedField[Control] = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True
    )

    class Meta:
        model = Recommendation
        fields = (
            "id",
            "key",
            "assessment_key",
            "display_name",
            "description",
            "remediation",
            "severity",
            "preview",
            "applies_to_kinds",
            "applies_to_os",
            "controls",
            "catalog_version",
        )


class RecommendationFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        field_name="display_name", lookup_expr="icontains", help_text="part of the display name"
    )
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    control = IdFilter(field_name="controls", help_text="a control's id")

    class Meta:
        model = Recommendation
        fields = ("key", "name", "severity", "preview", "control")


class RecommendationQueryset:
    def get_queryset(self) -> QuerySet[Recommendation]:
        return Recommendation.objects.prefetch_related("controls")


class RecommendationList(RecommendationQueryset, generics.ListAPIView[Recommendation]):
    """The recommendation catalog."""

    serializer_class = RecommendationSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = RecommendationFilter
    ordering_fields = ("id", "key", "display_name", "severity")


class RecommendationDetail(RecommendationQueryset, generics.RetrieveAPIView[Recommendation]):
    serializer_class = RecommendationSerializer
    lookup_field = "key"


# --- assessments ------------------------------------------------------------------------------------


class AssessmentSerializer(serializers.ModelSerializer[Assessment]):
    recommendation: serializers.SlugRelatedField[Recommendation] = serializers.SlugRelatedField(
        read_only=True, slug_field="key"
    )
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    subscription = serializers.IntegerField(source="resource.subscription_id", read_only=True)
    exempted = serializers.BooleanField(read_only=True)

    class Meta:
        model = Assessment
        fields = (
            "id",
            "resource",
            "resource_name",
            "subscription",
            "recommendation",
            "status",
            "cause",
            "reason",
            "exempted",
            "grace_until",
            "source",
            "first_evaluated",
            "status_changed",
            "updated_at",
        )


class AssessmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices)
    recommendation = django_filters.CharFilter(field_name="recommendation__key", help_text="its key")
    severity = django_filters.ChoiceFilter(field_name="recommendation__severity", choices=Severity.choices)
    resource = IdFilter(field_name="resource_id", help_text="a resource's id")
    exempted = django_filters.BooleanFilter(method="filter_exempted")
    changed_after = django_filters.IsoDateTimeFilter(field_name="status_changed", lookup_expr="gte")

    class Meta:
        model = Assessment
        fields = ("status", "recommendation", "severity", "resource", "exempted", "changed_after")

    def filter_exempted(self, queryset: QuerySet[Assessment], name: str, value: bool) -> QuerySet[Assessment]:
        return queryset.exclude(held_status="") if value else queryset.filter(held_status="")


class AssessmentQueryset:
    def get_queryset(self) -> QuerySet[Assessment]:
        scope = caller_scope(self.request)  # type: ignore[attr-defined]
        return Assessment.objects.filter(in_scope(scope, "resource__subscription_id")).select_related(
            "resource", "recommendation"
        )


@extend_schema(parameters=[SUBSCRIPTION_PARAMETER])
class AssessmentList(AssessmentQueryset, generics.ListAPIView[Assessment]):
    """Each resource's state against each recommendation, and why."""

    serializer_class = AssessmentSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = AssessmentFilter
    ordering_fields = ("id", "status", "status_changed", "first_evaluated", "updated_at")


class AssessmentDetail(AssessmentQueryset, generics.RetrieveAPIView[Assessment]):
    serializer_class = AssessmentSerializer


# --- OS-configuration rules -------------------------------------------------------------------------


class RuleSerializer(serializers.ModelSerializer[Rule]):
    benchmark: serializers.StringRelatedField[Benchmark] = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Rule
        fields = (
            "id",
            "key",
            "cce",
            "rule_id",
            "benchmark",
            "title",
            "description",
            "rationale",
            "severity",
            "rule_type",
            "os",
            "expected",
            "references",
            "fix_text",
            "updated_at",
        )


class RuleFilter(django_filters.FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the title")
    severity = django_filters.ChoiceFilter(choices=RuleSeverity.choices)
    benchmark = IdFilter(field_name="benchmark_id", help_text="a benchmark's id")

    class Meta:
        model = Rule
        fields = ("key", "cce", "title", "severity", "rule_type", "os", "benchmark")


class RuleQueryset:
    def get_queryset(self) -> QuerySet[Rule]:
        return Rule.objects.select_related("benchmark")


class RuleList(RuleQueryset, generics.ListAPIView[Rule]):
    """The OS security-configuration rule catalog (one rule per CCE ID, else per benchmark rule id)."""

    serializer_class = RuleSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = RuleFilter
    ordering_fields = ("id", "key", "severity", "rule_type")


class RuleDetail(RuleQueryset, generics.RetrieveAPIView[Rule]):
    serializer_class = RuleSerializer


# --- findings ---------------------------------------------------------------------------------------


class FindingSerializer(serializers.ModelSerializer[Finding]):
    """A finding with its governance (annotated by governance.findings.with_governance)."""

    rule: serializers.SlugRelatedField[Rule] = serializers.SlugRelatedField(read_only=True, slug_field="key")
    rule_title = serializers.CharField(source="rule.title", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)
    team = serializers.CharField(read_only=True, allow_null=True, help_text="its governance item's team")
    owner = serializers.CharField(read_only=True, allow_null=True)
    due_date = serializers.DateField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=AssignmentStatus.choices, read_only=True, allow_null=True)

    class Meta:
        model = Finding
        fields = (
            "id",
            "resource",
            "resource_name",
            "rule",
            "rule_title",
            "state",
            "result",
            "severity",
            "expected",
            "actual",
            "first_seen",
            "last_seen",
            "resolved_at",
            "updated_at",
            "team",
            "owner",
            "due_date",
            "status",
        )


class FiltersDocumentedOnly(DjangoFilterBackend):
    """Documents the view's filter set; the view filters with governance.findings.findings_for."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        return queryset


def selected_findings(request: Request) -> QuerySet[Finding]:
    """The findings the parameters select among those the caller may see (governance.findings: the
    filters of the findings exports too; defaults: the critical findings, open and critical or high)."""
    caller_scope(request)  # another tower's or an unknown subscription is a 404, as everywhere
    check_id(request, "resource")
    try:
        findings, _ = findings_for(request.user, request.query_params)
    except UserError as error:
        raise ValidationError({"detail": error.message}) from None
    return findings.select_related("resource", "rule")


def check_id(request: Request, name: str) -> None:
    """A whole number the database can hold (FindingFilterSet takes any number), else a 400."""
    value = request.query_params.get(name, "")
    if value and not (value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID):
        raise ValidationError({name: ["a resource's id, a whole number"]})


@extend_schema(parameters=[SUBSCRIPTION_PARAMETER])
class FindingList(generics.ListAPIView[Finding]):
    """Each machine's failed (or passed, resolved...) OS-configuration rules, with the team, owner, due
    date and status of their governance item; the filters are the findings exports'."""

    serializer_class = FindingSerializer
    pagination_class = Cursor
    filter_backends = [FiltersDocumentedOnly, Ordering]
    filterset_class = FindingFilterSet
    ordering_fields = ("id", "state", "severity", "last_seen", "updated_at")

    def get_queryset(self) -> QuerySet[Finding]:
        return selected_findings(self.request)


class FindingDetail(generics.RetrieveAPIView[Finding]):
    serializer_class = FindingSerializer

    def get_queryset(self) -> QuerySet[Finding]:
        scope = caller_scope(self.request)
        findings = Finding.objects.filter(in_scope(scope, "resource__subscription_id"))
        return with_governance(findings, self.request.user).select_related("resource", "rule")
