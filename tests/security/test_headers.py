"""The security headers every answer carries: on a page, the login page, the API and the admin."""

import pytest

from governance.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] for part in parts}


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/v1/score/", "/api/docs/", "/admin/"])
def test_every_answer_carries_the_policy_and_the_framing_and_sniffing_guards(client, path):
    client.force_login(make_user("boss", role=Role.ADMIN))
    if path == "/accounts/login/":
        client.logout()
    response = client.get(path)
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == POLICY
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    # TLS is off in the tests, so no HSTS (both ways in tests/security/test_settings.py).
    assert "Strict-Transport-Security" not in response


def test_the_lockout_page_carries_them_too(client, settings):
    settings.AXES_FAILURE_LIMIT = 1
    make_user("alice", password="a-long-enough-password", role=Role.VIEWER)
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert directives(response["Content-Security-Policy"]) == POLICY
    assert response["X-Frame-Options"] == "DENY"
