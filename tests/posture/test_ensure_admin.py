"""manage.py ensure_admin, which bin/run uses to print a working login."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def ensure_admin(*args: str) -> str:
    out = StringIO()
    call_command("ensure_admin", *args, stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("Login: http://127.0.0.1:8000/  user: admin  password: ")
    return line.rsplit(" ", 1)[1]


def login_request() -> HttpRequest:
    # django-axes refuses to check a password without the request it came in (its lockout needs it).
    return RequestFactory().post("/accounts/login/")


def test_creates_a_superuser_with_the_printed_password() -> None:
    password = ensure_admin("--username", "admin")
    user = authenticate(login_request(), username="admin", password=password)
    assert user is not None
    assert user.is_superuser
    assert user.is_staff


def test_running_again_resets_the_password() -> None:
    first = ensure_admin()
    second = ensure_admin()
    assert first != second
    assert User.objects.filter(username="admin").count() == 1
    assert authenticate(login_request(), username="admin", password=first) is None
    assert authenticate(login_request(), username="admin", password=second) is not None


def test_password_comes_from_the_environment_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTURE_ADMIN_PASSWORD", "correct-horse-battery")
    assert ensure_admin() == "correct-horse-battery"
    assert authenticate(login_request(), username="admin", password="correct-horse-battery") is not None


def test_printed_address_follows_the_port() -> None:
    out = StringIO()
    call_command("ensure_admin", "--url", "http://127.0.0.1:8123/", stdout=out)
    assert out.getvalue().startswith("Login: http://127.0.0.1:8123/  user: admin  password: ")
