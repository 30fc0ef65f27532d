"""Logins and failed logins go to the audit log (Django's auth signals are the only place they are seen)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from governance import audit


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit.record(actor=user, action=audit.LOGIN, summary="logged in", ip=audit.client_ip(request))


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # The username tried, never the password (Django already masks it in `credentials`).
    username = str(credentials.get("username", ""))[:150]
    audit.record(
        actor=None,
        actor_name=username,
        action=audit.LOGIN_FAILED,
        summary=f"failed login as {username!r}",
        ip=audit.client_ip(request),
    )
