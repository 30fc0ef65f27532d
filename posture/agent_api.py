"""The agents' side of the API: enrollment-token authentication and the heartbeat endpoint."""

import logging
from typing import Any

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from governance.access import RouteAccess
from intake.agents import record_heartbeat
from posture.agents import Heartbeat, authenticate_token
from posture.errors import UserError
from posture.models import AgentError, EnrollmentToken, OperatingSystem

log = logging.getLogger("posture.agents")


class AgentPrincipal:
    """Who is asking when an agent calls: its workspace's token, not a user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, token: EnrollmentToken) -> None:
        self.token = token


class EnrollmentTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <enrollment token>`; a wrong or revoked token is a 401, and logged."""

    def authenticate(self, request: Request) -> tuple[AgentPrincipal, EnrollmentToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        presented = parts[1].decode(errors="replace") if len(parts) == 2 else ""
        record = authenticate_token(presented)
        if record is None:
            log.warning(
                "rejected agent token %r from %s (%s)",
                presented[:12],
                request.META.get("REMOTE_ADDR", "?"),
                "malformed" if len(parts) != 2 else "unknown or revoked",
            )
            raise AuthenticationFailed("invalid or revoked enrollment token")
        return AgentPrincipal(record), record

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="posture-agents"'


class IsAgent(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, AgentPrincipal)


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
