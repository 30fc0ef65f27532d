"""REST endpoints of exemption requests: list and ask (a tower's lead or member, or an analyst), read one,
and decide (an analyst or admin other than the requester). The work and every check of who asks are
governance/exemption_requests.py's, as on the pages; another tower's request or item is a missing one."""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance.exemption_requests import Ask, decide_request, request_exemption, visible_requests
from governance.models import ExemptionRequest, RequestCategory, RequestState
from governance.scoping import visible_assignments
from posture.errors import UserError
from web.api.base import LIST_BACKENDS, MAX_ID, Cursor
from web.api.governance import client_ip, person, refusal


class ExemptionRequestSerializer(serializers.ModelSerializer[ExemptionRequest]):
    items = serializers.SerializerMethodField(help_text="the ids of the request's items the caller sees")
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True, default=None
    )
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )
    exemptions: "serializers.PrimaryKeyRelatedField[Any]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="the exemptions its approval made"
    )

    class Meta:
        model = ExemptionRequest
        fields = (
            "id",
            "category",
            "justification",
            "expires_on",
            "state",
            "items",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "exemptions",
            "warned_at",
            "ended_at",
        )
        read_only_fields = fields

    def get_items(self, request: ExemptionRequest) -> list[int]:
        caller = self.context["request"].user
        return sorted(
            visible_assignments(caller).filter(exemption_requests=request).values_list("pk", flat=True)
        )


class AskSerializer(serializers.Serializer[dict[str, Any]]):
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=500,
        help_text="the ids of the items to defer (assignments the caller may change)",
    )
    category = serializers.ChoiceField(choices=RequestCategory.choices)
    justification = serializers.CharField(max_length=5000)
    expires_on = serializers.DateField(help_text="the last day it holds (today to a year ahead)")


class DecisionSerializer(serializers.Serializer[dict[str, Any]]):
    decision = serializers.ChoiceField(choices=(("approve", "approve"), ("reject", "reject")))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ExemptionRequestFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=RequestState.choices)
    category = django_filters.ChoiceFilter(choices=RequestCategory.choices)

    class Meta:
        model = ExemptionRequest
        fields = ("state", "category")


def readable(request: Request) -> QuerySet[ExemptionRequest]:
    return visible_requests(request.user).select_related("requested_by", "decided_by")


class ExemptionRequestList(generics.ListAPIView[ExemptionRequest]):
    """Exemption requests the caller sees, newest first; POST asks for one (governance.exemption_requests)."""

    serializer_class = ExemptionRequestSerializer
    pagination_class = Cursor
    filter_backends = LIST_BACKENDS
    filterset_class = ExemptionRequestFilter
    ordering_fields = ("id", "expires_on")
    ordering = ("-id",)

    def get_queryset(self) -> QuerySet[ExemptionRequest]:
        return readable(self.request)

    @extend_schema(request=AskSerializer, responses={201: ExemptionRequestSerializer})
    def post(self, request: Request) -> Response:
        data = AskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        wanted = set(values["items"])
        items = list(visible_assignments(request.user).filter(pk__in=wanted))
        try:
            refused = sorted(wanted - {item.pk for item in items})
            if refused:
                numbers = ", ".join(f"#{pk}" for pk in refused)
                raise UserError(f"you cannot change {len(refused)} of the {len(wanted)} items ({numbers})")
            made = request_exemption(
                user=person(request),
                items=sorted(items, key=lambda item: item.pk),
                ask=Ask(values["category"], values["justification"], values["expires_on"]),
                ip=client_ip(request),
            )
        except UserError as error:
            return refusal(error)
        context = {"request": request}
        return Response(
            ExemptionRequestSerializer(made, context=context).data, status=status.HTTP_201_CREATED
        )


class ExemptionRequestDetail(generics.RetrieveAPIView[ExemptionRequest]):
    serializer_class = ExemptionRequestSerializer

    def get_queryset(self) -> QuerySet[ExemptionRequest]:
        return readable(self.request)


class ExemptionRequestDecide(generics.GenericAPIView[ExemptionRequest]):
    """Approve or reject a pending request (an analyst or admin, not the requester; a rejection says why)."""

    serializer_class = ExemptionRequestSerializer

    def get_queryset(self) -> QuerySet[ExemptionRequest]:
        return readable(self.request)

    @extend_schema(request=DecisionSerializer, responses=ExemptionRequestSerializer)
    def post(self, request: Request, pk: int) -> Response:
        found = self.get_object()
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            decided = decide_request(
                user=person(request),
                request=found,
                approve=data.validated_data["decision"] == "approve",
                note=data.validated_data["note"],
                ip=client_ip(request),
            )
        except UserError as error:
            return refusal(error)
        return Response(ExemptionRequestSerializer(decided, context={"request": request}).data)
