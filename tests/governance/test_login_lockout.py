"""Login throttling (django-axes): an account is locked after repeated failed logins, the right
password is refused while it is, the lockout is logged and audited, and an admin can unlock it."""

import logging
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from governance.api_tokens import issue_api_token
from governance.roles import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def log_in(client: Client, username: str, password: str, address: str = "127.0.0.1", forwarded_for: str = ""):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    data = {"username": username, "password": password}
    return client.post("/accounts/login/", data, headers=headers, REMOTE_ADDR=address)


def logged_in_as(client: Client) -> str | None:
    response = client.get("/")
    return None if response.status_code == 302 else response.context["user"].get_username()


def fail_logins(client: Client, username: str, times: int, address: str = "127.0.0.1") -> list[int]:
    return [log_in(client, username, "wrong", address).status_code for _ in range(times)]


def test_five_failures_lock_the_account_and_the_right_password_is_refused(client, caplog):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    with caplog.at_level(logging.WARNING, logger="axes"):
        # Four failures show the form again; the fifth reaches the limit and answers the lockout page.
        assert fail_logins(client, "alice", 5) == [200, 200, 200, 200, 429]
    assert any("Locking out" in r.getMessage() and "alice" in r.getMessage() for r in caplog.records)

    response = log_in(client, "alice", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Account locked" in page
    assert "after 5 failures in a row the account is locked for 15 minutes" in page
    assert "ask an admin to unlock it" in page
    assert logged_in_as(client) is None


def test_the_lockout_is_in_the_audit_log(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    fail_logins(client, "alice", 5)
    log_in(client, "alice", PASSWORD)
    locked = list(AuditEvent.objects.filter(action="account_locked").order_by("pk"))
    assert [(e.actor_name, e.summary, e.ip) for e in locked] == [
        ("alice", "account 'alice' locked after 5 failed logins", "127.0.0.1"),
        ("alice", "login refused: account 'alice' is locked", "127.0.0.1"),
    ]
    # Each attempt is also a failed login, the refused right password included (never the password).
    assert AuditEvent.objects.filter(action="login_failed", actor_name="alice").count() == 6
    assert not AuditEvent.objects.filter(summary__contains=PASSWORD).exists()


def test_failures_below_the_limit_are_forgotten_after_a_success(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    assert fail_logins(client, "alice", 4) == [200] * 4
    assert log_in(client, "alice", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert fail_logins(client, "alice", 4) == [200] * 4
    assert log_in(client, "alice", PASSWORD).status_code == 302
    assert not AuditEvent.objects.filter(action="account_locked").exists()


def test_the_limit_comes_from_the_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    assert fail_logins(client, "alice", 2) == [200, 429]
    assert "after 2 failures in a row" in log_in(client, "alice", PASSWORD).content.decode()


def test_a_locked_account_does_not_lock_another_users_from_elsewhere(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    make_user("bob", password=PASSWORD, role=Role.VIEWER)
    fail_logins(client, "alice", 5, address="192.0.2.10")
    assert log_in(client, "bob", PASSWORD, address="192.0.2.20").status_code == 302
    assert logged_in_as(client) == "bob"


def test_one_address_trying_many_usernames_is_locked_and_a_forged_forwarded_for_does_not_help(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    statuses = [log_in(client, f"guess{n}", "wrong", "192.0.2.66").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    # Without POSTURE_API_NUM_PROXIES the header is the caller's own word, not an address.
    forged = log_in(client, "alice", PASSWORD, "192.0.2.66", forwarded_for="198.51.100.1")
    assert forged.status_code == 429
    assert log_in(client, "alice", PASSWORD, "192.0.2.77").status_code == 302


def test_behind_a_proxy_the_forwarded_client_address_is_locked_not_the_proxys(client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    proxy = "10.0.0.1"
    for n in range(5):
        log_in(client, f"guess{n}", "wrong", proxy, forwarded_for="198.51.100.1")
    assert AccessAttempt.objects.filter(ip_address="198.51.100.1").count() == 5
    # Another client through the same proxy still logs in.
    response = log_in(client, "alice", PASSWORD, proxy, forwarded_for="198.51.100.2")
    assert response.status_code == 302


def test_the_lock_lapses_after_the_cool_off(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    fail_logins(client, "alice", 5)
    now = timezone.now()
    with time_machine.travel(now + timedelta(minutes=14), tick=False):
        assert log_in(client, "alice", PASSWORD).status_code == 429
    with time_machine.travel(now + timedelta(minutes=16), tick=False):
        assert log_in(client, "alice", PASSWORD).status_code == 302


def test_the_reset_command_unlocks_the_account(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    fail_logins(client, "alice", 5)
    assert log_in(client, "alice", PASSWORD).status_code == 429
    call_command("axes_reset_username", "alice")
    assert log_in(client, "alice", PASSWORD).status_code == 302
    assert logged_in_as(client) == "alice"


def test_an_admin_unlocks_the_account_in_the_admin_site(client):
    make_user("alice", password=PASSWORD, role=Role.VIEWER)
    fail_logins(client, "alice", 5)
    admin_client = Client()
    admin_client.force_login(make_user("boss", role=Role.ADMIN))
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="alice")
    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert log_in(client, "alice", PASSWORD).status_code == 302


def test_an_api_token_and_an_open_session_keep_working_while_the_password_is_locked(client):
    # The lock stops password guessing; a token (256 random bits) is no password to guess, so failed
    # logins by someone else must not cut off the owner's integrations or open sessions.
    user = make_user("alice", password=PASSWORD, role=Role.VIEWER)
    session = Client()
    session.force_login(user)
    key = issue_api_token(user=user, label="grafana").key
    fail_logins(client, "alice", 5)
    assert log_in(client, "alice", PASSWORD).status_code == 429
    assert session.get("/").status_code == 200
    assert Client().get("/api/v1/score/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
