"""`Authorization: Token <key>` for the REST API: a personal API token (governance/api_tokens.py issues
and checks them), with wrong keys throttled per address and logged."""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from governance.api_tokens import authenticate_api_token
from governance.models import ApiToken

log = logging.getLogger("posture.api")
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

    target_class = "web.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; a key comes from `manage.py create_api_token USERNAME`.",
        }
