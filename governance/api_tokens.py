"""API tokens: issue (the key is shown once), revoke, and authenticate `Authorization: Token <key>`.

A key is 256 random bits behind a `psa_` marker; only its SHA-256 digest is stored, so a fast digest
lookup by index is safe. Issuing and revoking are in the audit log.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from audit import trail
from governance.models import ApiToken
from posture.errors import UserError

log = logging.getLogger("posture.api")
KEY_PREFIX = "psa_"  # a public marker that makes leaked keys easy to find, not a secret
KEYWORD = b"token"
# last_used_at is written at most this often per token: not one UPDATE per API call.
TOUCH_EVERY = timedelta(minutes=1)

Actor = User | AnonymousUser | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedApiToken:
    key: str
    record: ApiToken


def issue_api_token(
    *, user: User, label: str = "", actor: Actor = None, ip: str | None = None
) -> IssuedApiToken:
    """A new token of `user`; its key exists only in the return value, never in the database."""
    if not user.is_active:
        raise UserError(f"{user.get_username()} is inactive: an API token would not work")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(user=user, digest=_digest(key), prefix=key[:12], label=label.strip())
    trail.record(
        actor=actor,
        action=trail.API_TOKEN,
        obj=record,
        summary=f"API token {record.prefix}… issued to {user.get_username()}",
        after={"user": user.get_username(), "prefix": record.prefix, "label": record.label},
        ip=ip,
    )
    return IssuedApiToken(key, record)


def revoke_api_token(record: ApiToken, *, actor: Actor = None, ip: str | None = None) -> bool:
    """Revoke a token (at once: the next call with it is a 401); False when it was revoked already."""
    if record.revoked_at is not None:
        return False
    record.revoked_at = timezone.now()
    record.save(update_fields=["revoked_at"])
    trail.record(
        actor=actor,
        action=trail.API_TOKEN,
        obj=record,
        summary=f"API token {record.prefix}… of {record.user.get_username()} revoked",
        before={"revoked_at": None},
        after={"revoked_at": record.revoked_at.isoformat(), "prefix": record.prefix},
        ip=ip,
    )
    return True


def tokens_with_prefix(prefix: str) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(prefix__startswith=prefix.strip()).select_related("user")


def authenticate_api_token(key: str) -> ApiToken | None:
    """The live token record of a presented key, for an active user, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    record = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
    if record is None or record.revoked_at is not None or not record.user.is_active:
        return None
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        record.last_used_at = now
    return record


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

    target_class = "governance.api_tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; a key comes from `manage.py create_api_token USERNAME`.",
        }
