"""The one way to write the audit log (append-only): every assignment, status change, exemption,
role change, import, export and login is recorded here with who, when, what, before and after."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model
from django.http import HttpRequest

from audit.models import AuditEvent

ASSIGN = "assign"
STATUS = "status"
ETA = "eta"
COMMENT = "comment"
EXEMPT = "exempt"
EXEMPTION_END = "exemption_end"
EXEMPTION_REQUEST = "exemption_request"
EXEMPTION_DECISION = "exemption_decision"
RULE = "governance_rule"
ROLE = "role_change"
TEAM = "team_change"
SCOPE_GROUP = "scope_group"
IMPORT = "import"
EXPORT = "export"
LOGIN = "login"
LOGIN_FAILED = "login_failed"
ACCOUNT_LOCKED = "account_locked"
API_TOKEN = "api_token"  # noqa: S105 - an audit action name, not a secret
ACTIONS = (
    ASSIGN,
    STATUS,
    ETA,
    COMMENT,
    EXEMPT,
    EXEMPTION_END,
    EXEMPTION_REQUEST,
    EXEMPTION_DECISION,
    RULE,
    ROLE,
    TEAM,
    SCOPE_GROUP,
    IMPORT,
    EXPORT,
    LOGIN,
    LOGIN_FAILED,
    ACCOUNT_LOCKED,
    API_TOKEN,
)

Actor = User | AnonymousUser | None


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def event(
    *,
    actor: Actor,
    action: str,
    obj: Model | None = None,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_name: str = "",
    ip: str | None = None,
) -> AuditEvent:
    """An unsaved event (for bulk writes); `record` saves one."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent(
        actor=user,
        actor_name=actor_name or (user.get_username() if user is not None else "system"),
        action=action,
        object_type=obj._meta.model_name or "" if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary,
        before=before,
        after=after,
        ip=ip,
    )


def record(**fields: Any) -> AuditEvent:
    entry = event(**fields)
    entry.save()
    return entry


def record_many(entries: Iterable[AuditEvent]) -> None:
    AuditEvent.objects.bulk_create(list(entries), batch_size=1000)
