"""REST endpoints of the evidence: the recommendation and rule catalogs, assessments and findings.

The catalogs are the same for everybody; assessments and findings are the scope's (a tower's members
see their tower's resources only, and another's by id is a 404).
"""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from posture.api_base import LIST_BACKENDS, SUBSCRIPTION_PARAMETER, Cursor, IdFilter, caller_scope
from recommendations.models import (
    Assessment,
    AssessmentStatus,
    Benchmark,
    Finding,
    FindingState,
    Recommendation,
    ResultValue,
    Rule,
    RuleSeverity,
    Severity,
)
from recommendations.selectors import in_scope
from scoring.models import Control

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
    rule: serializers.SlugRelatedField[Rule] = serializers.SlugRelatedField(read_only=True, slug_field="key")
    rule_title = serializers.CharField(source="rule.title", read_only=True)
    resource_name = serializers.CharField(source="resource.name", read_only=True)

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
        )


class FindingFilter(django_filters.FilterSet):
    """A minimal filter set of the findings endpoint."""

    state = django_filters.ChoiceFilter(choices=FindingState.choices)
    severity = django_filters.ChoiceFilter(choices=RuleSeverity.choices)
    result = django_filters.ChoiceFilter(choices=ResultValue.choices)
    rule = django_filters.CharFilter(field_name="rule__key", help_text="the rule's key (CCE or rule id)")
    resource = IdFilter(field_name="resource_id", help_text="a resource's id")
    seen_after = django_filters.IsoDateTimeFilter(field_name="last_seen", lookup_expr="gte")

    class Meta:
        model = Finding
        fields = ("state", "severity", "result", "rule", "resource", "seen_after")


class FindingQueryset:
    def get_queryset(self) -> QuerySet[Finding]:
        scope = caller_scope(self.request)  # type: ignore[attr-defined]
        return Finding.objects.filter(in_scope(scope, "resource__subscription_id")).select_related(
            "resource", "rule"
        )


@extend_schema(parameters=[SUBSCRIPTION_PARAMETER])
class FindingList(FindingQueryset, generics.ListAPIView[Finding]):
    """Each machine's state against each OS-configuration rule."""

    serializer_class = FindingSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = FindingFilter
    ordering_fields = ("id", "state", "severity", "last_seen", "updated_at")


class FindingDetail(FindingQueryset, generics.RetrieveAPIView[Finding]):
    serializer_class = FindingSerializer
