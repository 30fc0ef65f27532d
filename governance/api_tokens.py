"""API tokens: issue (the key is shown once), revoke, and find the token a presented key belongs to
(web/authentication.py reads `Authorization: Token <key>` with it).

A key is 256 random bits behind a `psa_` marker; only its SHA-256 digest is stored, so a fast digest
lookup by index is safe. Issuing and revoking are in the audit log.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from audit import trail
from governance.models import ApiToken
from posture.errors import UserError

KEY_PREFIX = "psa_"  # a public marker that makes leaked keys easy to find, not a secret
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
