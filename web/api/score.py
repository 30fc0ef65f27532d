"""REST endpoints of the score: the score document, its history, the controls (groups of points)."""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.models import Recommendation
from scoring.document import scope_document
from scoring.engine import compute_score
from scoring.history import has_history
from scoring.models import Control, ScorePoint
from web.api.base import LIST_BACKENDS, SUBSCRIPTION_PARAMETER, Cursor, IdFilter, caller_scope


class ScoreView(APIView):
    """The score document of formats/score-json.md; `?subscription=` takes a name or an id."""

    @extend_schema(parameters=[SUBSCRIPTION_PARAMETER], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        scope = caller_scope(request)
        report = compute_score(scope)
        return Response(scope_document(scope, report))


class ControlSerializer(serializers.ModelSerializer[Control]):
    recommendations: serializers.SlugRelatedField[Recommendation] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="key"
    )

    class Meta:
        model = Control
        fields = ("id", "name", "max_score", "defender_id", "position", "recommendations", "catalog_version")


class ControlFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the name")
    recommendation = django_filters.CharFilter(
        field_name="recommendations__key", help_text="controls holding this recommendation (its key)"
    )

    class Meta:
        model = Control
        fields = ("name", "recommendation")


class ControlQueryset:
    def get_queryset(self) -> QuerySet[Control]:
        return Control.objects.prefetch_related("recommendations")


class ControlList(ControlQueryset, generics.ListAPIView[Control]):
    """The security controls of the catalog; their points per scope are in the score document."""

    serializer_class = ControlSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = ControlFilter
    ordering_fields = ("id", "name", "position", "max_score")
    ordering = ("position", "id")


class ControlDetail(ControlQueryset, generics.RetrieveAPIView[Control]):
    serializer_class = ControlSerializer


class ScorePointSerializer(serializers.ModelSerializer[ScorePoint]):
    control_name = serializers.CharField(source="control.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ScorePoint
        fields = (
            "id",
            "taken_at",
            "subscription",
            "control",
            "control_name",
            "current",
            "max",
            "percentage",
            "healthy",
            "unhealthy",
            "not_applicable",
            "weight",
        )


class ScorePointFilter(django_filters.FilterSet):
    control = IdFilter(field_name="control_id", help_text="one control's points")
    score = django_filters.BooleanFilter(
        field_name="control", lookup_expr="isnull", help_text="true: the secure score's points only"
    )
    after = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="gte")
    before = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="lt")

    class Meta:
        model = ScorePoint
        fields = ("control", "score", "after", "before")


@extend_schema(parameters=[SUBSCRIPTION_PARAMETER])
class ScoreHistory(generics.ListAPIView[ScorePoint]):
    """The stored snapshots of the secure score (`control` null) and each control, oldest first, for
    the estate or one subscription. History is not kept for what a tower's members see, nor for a
    group: they get an empty list, as the dashboard shows them no trend."""

    serializer_class = ScorePointSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = ScorePointFilter
    ordering_fields = ("id", "taken_at")
    ordering = ("taken_at",)

    def get_queryset(self) -> QuerySet[ScorePoint]:
        scope = caller_scope(self.request)
        if not has_history(scope):
            return ScorePoint.objects.none()
        points = ScorePoint.objects.select_related("control")
        if scope.subscription_ids:
            return points.filter(subscription_id=scope.subscription_ids[0])
        return points.filter(subscription__isnull=True)
