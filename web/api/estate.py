"""REST endpoints of the estate: subscriptions, resources, import jobs (and agents' heartbeats, documented).

A tower's lead or member sees the subscriptions and resources of the tower's items only; another's
resource is a 404 even by id.
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response

from governance.scoping import restrict
from posture.models import (
    AgentState,
    ImportJob,
    ImportStatus,
    OperatingSystem,
    PowerState,
    Resource,
    ResourceKind,
    Subscription,
)
from posture.scope import ESTATE, visible_subscriptions
from recommendations.selectors import ResourceState, in_scope, state_condition
from web.api import agents as agent_api
from web.api import imports as imports_api
from web.api.base import LIST_BACKENDS, SUBSCRIPTION_PARAMETER, Cursor, IdFilter, caller_scope
from web.authentication import ApiTokenAuthentication, EnrollmentTokenAuthentication

# --- subscriptions ----------------------------------------------------------------------------------


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    class Meta:
        model = Subscription
        fields = ("id", "name", "cloud", "external_id", "created_at")


class SubscriptionFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the name")

    class Meta:
        model = Subscription
        fields = ("name", "cloud", "external_id")


class SubscriptionList(generics.ListAPIView[Subscription]):
    """Subscriptions; a tower's members get those holding their tower's resources."""

    serializer_class = SubscriptionSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = SubscriptionFilter
    ordering_fields = ("id", "name", "created_at")

    def get_queryset(self) -> QuerySet[Subscription]:
        return visible_subscriptions(restrict(ESTATE, self.request.user))


class SubscriptionDetail(generics.RetrieveAPIView[Subscription]):
    serializer_class = SubscriptionSerializer

    def get_queryset(self) -> QuerySet[Subscription]:
        return visible_subscriptions(restrict(ESTATE, self.request.user))


# --- resources --------------------------------------------------------------------------------------


class ResourceSerializer(serializers.ModelSerializer[Resource]):
    subscription_name = serializers.CharField(source="subscription.name", read_only=True)
    # Where it runs (AWS, GCP, Azure, On-premises) and its account's or project's native id.
    cloud = serializers.CharField(source="cloud_label", read_only=True)
    subscription_native_id = serializers.CharField(source="subscription.external_id", read_only=True)

    class Meta:
        model = Resource
        fields = (
            "id",
            "resource_id",
            "name",
            "kind",
            "os",
            "subscription",
            "subscription_name",
            "cloud",
            "subscription_native_id",
            "resource_group",
            "parent",
            "tags",
            "power_state",
            "agent_state",
            "agent_version",
            "workspace_id",
            "last_heartbeat",
            "agent_error",
            "discovered_from",
            "created_at",
            "updated_at",
        )


class ResourceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="part of the name")
    kind = django_filters.ChoiceFilter(choices=ResourceKind.choices)
    os = django_filters.ChoiceFilter(choices=OperatingSystem.choices)
    resource_group = django_filters.CharFilter(lookup_expr="iexact")
    power_state = django_filters.ChoiceFilter(choices=PowerState.choices)
    agent_state = django_filters.ChoiceFilter(choices=AgentState.choices)
    state = django_filters.ChoiceFilter(
        choices=ResourceState.CHOICES,
        method="filter_state",
        help_text="the resource's state in `control` (in any control without it), as the score counts it",
    )
    control = IdFilter(method="filter_state", help_text="a control's id")

    class Meta:
        model = Resource
        fields = ("name", "kind", "os", "resource_group", "power_state", "agent_state", "state", "control")

    def filter_state(self, queryset: QuerySet[Resource], name: str, value: Any) -> QuerySet[Resource]:
        # `state` and `control` make one condition; whichever is filtered second does nothing more.
        if getattr(self, "_state_applied", False):
            return queryset
        self._state_applied = True
        data = self.form.cleaned_data
        control = data.get("control")
        return queryset.filter(state_condition(data.get("state") or None, int(control) if control else None))


class ResourceQueryset:
    def get_queryset(self) -> QuerySet[Resource]:
        scope = caller_scope(self.request)  # type: ignore[attr-defined]
        return Resource.objects.filter(in_scope(scope, "subscription_id")).select_related("subscription")


@extend_schema(parameters=[SUBSCRIPTION_PARAMETER])
class ResourceList(ResourceQueryset, generics.ListAPIView[Resource]):
    """Machines, scale sets, instances and clusters in the scope."""

    serializer_class = ResourceSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = ResourceFilter
    ordering_fields = ("id", "name", "kind", "os", "resource_group", "created_at")


class ResourceDetail(ResourceQueryset, generics.RetrieveAPIView[Resource]):
    serializer_class = ResourceSerializer


# --- imports ----------------------------------------------------------------------------------------


class ImportJobSerializer(serializers.Serializer[ImportJob]):
    """An import job as web.api.imports.job_document writes it (the one shape of a job in the API)."""

    id = serializers.IntegerField()
    file = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    format = serializers.CharField(allow_null=True)
    resource = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=ImportStatus.choices)
    progress = serializers.DictField()
    attempts = serializers.IntegerField()
    counts = serializers.DictField()
    error = serializers.CharField(allow_null=True)
    score_before = serializers.JSONField(allow_null=True)
    score_after = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: ImportJob) -> dict[str, Any]:
        return imports_api.job_document(instance)


class ImportFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ImportStatus.choices)
    format = django_filters.CharFilter(field_name="detected_format", help_text="the detected format")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ImportJob
        fields = ("status", "format", "created_after", "created_before")


UPLOAD = inline_serializer(
    "ImportUpload",
    {
        "file": serializers.FileField(),
        "format": serializers.CharField(required=False, help_text="force a format instead of detecting it"),
        "resource": serializers.CharField(required=False, help_text="the machine a scan is of"),
    },
)
TOKENS = [ApiTokenAuthentication, SessionAuthentication, EnrollmentTokenAuthentication]


class ImportList(generics.ListAPIView[ImportJob], imports_api.ImportListView):
    """Import jobs, newest first; POST uploads a file (web.api.imports.ImportListView), agents included."""

    authentication_classes = TOKENS
    serializer_class = ImportJobSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = ImportFilter
    ordering_fields = ("id", "created_at", "size")
    ordering = ("-id",)
    queryset = ImportJob.objects.all()

    @extend_schema(
        request={"multipart/form-data": UPLOAD},
        responses={200: ImportJobSerializer, 201: ImportJobSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class ImportDetail(imports_api.ImportDetailView):
    """One import job: people see any, an agent only its own uploads."""

    authentication_classes = TOKENS

    @extend_schema(responses=ImportJobSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return super().get(request, pk)


# --- agents -----------------------------------------------------------------------------------------


class Heartbeat(agent_api.HeartbeatView):
    """An agent's heartbeat (web.api.agents), with its schema."""

    @extend_schema(request=agent_api.HeartbeatSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        return super().post(request)


class EnrollmentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "web.authentication.EnrollmentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "an agent's enrollment token"}
