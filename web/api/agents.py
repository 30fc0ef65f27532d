"""The agents' side of the API: the heartbeat endpoint (agents authenticate in web/authentication.py)."""

import logging
from typing import Any

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from intake.agents import record_heartbeat
from posture.agents import Heartbeat
from posture.errors import UserError
from posture.models import AgentError, OperatingSystem
from web.access import RouteAccess
from web.authentication import AgentPrincipal, EnrollmentTokenAuthentication, IsAgent

log = logging.getLogger("posture.agents")


class HeartbeatThrottle(SimpleRateThrottle):
    """At most POSTURE_HEARTBEAT_RATE heartbeats per token (a stuck agent must not flood the server)."""

    scope = "heartbeat"

    def get_rate(self) -> str:
        return str(settings.POSTURE_HEARTBEAT_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.user, AgentPrincipal):
            return None
        return f"posture:throttle:heartbeat:{request.user.token.pk}"


class HeartbeatSerializer(serializers.Serializer[dict[str, Any]]):
    resource_id = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    hostname = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    fqdn = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    agent_version = serializers.CharField(max_length=100)
    # The token decides the workspace; an agent may still name it, and must then name the token's.
    workspace_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    os = serializers.ChoiceField(choices=[c for c in OperatingSystem.values if c])
    error = serializers.ChoiceField(choices=AgentError.values, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("resource_id") and not attrs.get("hostname") and not attrs.get("fqdn"):
            raise serializers.ValidationError({"hostname": ["hostname, fqdn or resource_id is required"]})
        return attrs


class HeartbeatView(APIView):
    authentication_classes = [EnrollmentTokenAuthentication]
    permission_classes = [RouteAccess, IsAgent]
    throttle_classes = [HeartbeatThrottle]

    def post(self, request: Request) -> Response:
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assert isinstance(request.user, AgentPrincipal)
        token = request.user.token
        try:
            resource, created = record_heartbeat(
                token=token, heartbeat=Heartbeat(**serializer.validated_data)
            )
        except UserError as error:
            return Response({"detail": error.message}, status=status.HTTP_400_BAD_REQUEST)
        workspace = token.workspace
        return Response(
            {
                "resource_id": resource.resource_id,
                "resource_created": created,
                "workspace": {
                    "workspace_id": workspace.workspace_id,
                    "scan_datastream": workspace.scan_datastream or None,
                    "scan_profile": workspace.scan_profile or None,
                },
            }
        )
