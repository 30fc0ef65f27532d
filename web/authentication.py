"""Who is asking the REST API: a person by `Authorization: Token <key>` (a personal API token, issued and
checked by governance/api_tokens.py; wrong keys throttled per address and logged), or an agent by
`Authorization: Bearer <enrollment token>` (its workspace's token)."""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from governance.api_tokens import authenticate_api_token
from governance.models import ApiToken
from posture.agents import authenticate_token
from posture.models import EnrollmentToken

log = logging.getLogger("posture.api")
agent_log = logging.getLogger("posture.agents")
KEYWORD = b"token"


class FailedTokenThrottle(SimpleRateThrottle):
    """Wrong keys count against POSTURE_API_ANON_RATE per address: REST framework throttles only after
    authentication, so without this a key could be guessed as fast as the server answers."""

    scope = "api_token_failure"

    def get_rate(self) -> str:
        return str(settings.POSTURE_API_ANON_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`; a wrong, revoked or inactive user's token is a 401, and logged."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        presented = parts[1].decode(errors="replace") if len(parts) == 2 else ""
        record = authenticate_api_token(presented)
        if record is None:
            throttle = FailedTokenThrottle()
            if not throttle.allow_request(request, None):  # type: ignore[arg-type] # no view here
                raise Throttled(throttle.wait())
            log.warning("rejected API token %r from %s", presented[:12], request.META.get("REMOTE_ADDR", "?"))
            raise AuthenticationFailed("invalid or revoked API token")
        return record.user, record

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="posture"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token header."""

    target_class = "web.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; a key comes from `manage.py create_api_token USERNAME`.",
        }


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
            agent_log.warning(
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
