"""Logins, failed logins and account lockouts go to the audit log (Django's and django-axes' signals
are the only place they are seen), and no delete, not even a queryset's, removes an audit event."""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.http import HttpRequest

from audit import trail
from audit.models import AppendOnly, AuditEvent


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    trail.record(actor=user, action=trail.LOGIN, summary="logged in", ip=trail.client_ip(request))


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The username tried, never the password (Django already masks it in `credentials`).
    username = str(credentials.get("username", ""))[:150]
    trail.record(
        actor=None,
        # A blank username would otherwise read as the system's own doing.
        actor_name=username or "(no username)",
        action=trail.LOGIN_FAILED,
        summary=f"failed login as {username!r}",
        ip=trail.client_ip(request),
    )


@receiver(user_locked_out)
def _locked_out(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    # Axes sends this when the limit is reached, and again for each attempt refused while locked; only
    # the first carries the failure count it just reached.
    name = str(username or "")[:150]
    failures = getattr(request, "axes_failures_since_start", None)
    summary = (
        f"account {name!r} locked after {failures} failed logins"
        if failures is not None
        else f"login refused: account {name!r} is locked"
    )
    trail.record(
        actor=None,
        actor_name=name or "(no username)",
        action=trail.ACCOUNT_LOCKED,
        summary=summary,
        ip=trail.client_ip(request),
    )


@receiver(pre_delete, sender=AuditEvent)
def _refuse_delete(sender: Any, instance: AuditEvent, **kwargs: Any) -> None:
    # AuditEvent.delete() refuses; a queryset's delete() skips it but sends this signal (and, with a
    # receiver connected, Django cannot take its fast path that sends none).
    raise AppendOnly("audit events are never deleted")
