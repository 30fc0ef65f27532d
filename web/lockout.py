"""Login throttling's two hooks into django-axes: the caller's address and the lockout page."""

from typing import Any

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str | None:
    """The address failed logins count against: the API throttles' reading of it, so behind
    POSTURE_API_NUM_PROXIES proxies it is the client's from X-Forwarded-For, not the proxy's (which
    would lock everyone out at once), and without proxies a forged header changes nothing."""
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        # Whole minutes read better than axes' "0:15:00"; None when locks never lapse by themselves.
        "cooloff_minutes": max(1, round(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    return render(request, "registration/locked_out.html", context, status=429)
