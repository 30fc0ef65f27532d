"""REST endpoints of the score: the score document, the controls (the catalog's groups of points)."""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from posture.api_base import LIST_BACKENDS, SUBSCRIPTION_PARAMETER, Cursor, caller_scope
from recommendations.models import Recommendation
from scoring.document import score_document
from scoring.engine import compute_score
from scoring.models import Control


class ScoreView(APIView):
    """The score document of formats/score-json.md; `?subscription=` takes a name or an id."""

    @extend_schema(parameters=[SUBSCRIPTION_PARAMETER], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(score_document(compute_score(caller_scope(request))))


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
