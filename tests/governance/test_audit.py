"""The audit log: what is recorded (logins, failed logins, role changes), that it cannot be changed,
and its page (filters, escaping, who may open it)."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.admin.sites import site
from django.db import transaction
from django.test import RequestFactory

from audit import trail
from audit.models import AppendOnly, AuditEvent
from governance.models import Team
from governance.roles import Role, set_role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_login_and_a_failed_login_are_recorded(client):
    make_user("alice", password="correct horse battery staple")
    # The login form, not client.login(): django-axes checks a password only with its request.
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    client.logout()
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200  # the form again, with its error
    events = list(AuditEvent.objects.filter(action__startswith="login").order_by("pk"))
    assert [(e.action, e.actor_name, e.summary) for e in events] == [
        ("login", "alice", "logged in"),
        ("login_failed", "alice", "failed login as 'alice'"),
    ]
    assert events[1].actor is None
    assert events[1].ip == "127.0.0.1"
    assert "wrong" not in str(events[1].before) + str(events[1].after) + events[1].summary


def test_a_role_change_is_recorded_with_before_and_after():
    admin = make_user("boss", role=Role.ADMIN)
    bob = make_user("bob", role=Role.VIEWER)
    set_role(bob, Role.ANALYST, actor=admin)
    event = AuditEvent.objects.filter(action="role_change", object_id=str(bob.pk)).latest("pk")
    assert (event.actor, event.summary) == (admin, "bob is now Security analyst")
    assert (event.before, event.after) == ({"role": "viewer"}, {"role": "security_analyst"})
    set_role(bob, Role.ANALYST, actor=admin)  # no change, no event
    assert AuditEvent.objects.filter(action="role_change", object_id=str(bob.pk)).count() == 2


def test_audit_events_are_never_changed_or_deleted():
    event = trail.record(actor=None, action=trail.EXPORT, summary="score exported")
    event.summary = "nothing happened"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnly), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(summary="nothing happened")
    with pytest.raises(AppendOnly), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["summary"])
    assert AuditEvent.objects.get(pk=event.pk).summary == "score exported"


def test_deleting_a_user_keeps_their_events_by_name():
    carol = make_user("carol", role=Role.VIEWER)
    carol.delete()
    event = AuditEvent.objects.get(action="role_change", actor_name="system", object_type="user")
    assert event.summary == "carol is now Viewer"
    dave = make_user("dave")
    exported = trail.record(actor=dave, action=trail.EXPORT)
    dave.delete()
    exported.refresh_from_db()
    assert (exported.actor, exported.actor_name) == (None, "dave")


def test_the_admin_shows_audit_events_read_only():
    request = RequestFactory().get("/admin/")
    request.user = make_user("root", role=Role.ADMIN)
    model_admin = site._registry[AuditEvent]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert Team in site._registry


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def events() -> None:
    with time_machine.travel(datetime(2026, 10, 2, 9, 0, tzinfo=UTC), tick=False):
        trail.record(actor=None, actor_name="erin", action=trail.LOGIN, summary="logged in")
    with time_machine.travel(datetime(2026, 10, 20, 9, 0, tzinfo=UTC), tick=False):
        team = Team.objects.create(name="Linux")
        trail.record(
            actor=None,
            actor_name="frank",
            action=trail.TEAM,
            obj=team,
            summary="<svg onload=alert(1)>",
            before={"name": "<b>old</b>"},
            after={"name": "Linux", "members": ["frank"]},
        )


def test_the_audit_page_filters_and_escapes(client, events):
    client.force_login(make_user("analyst", role=Role.ANALYST))
    page = client.get("/audit/").content.decode()
    assert "<svg" not in page
    assert "&lt;svg onload=alert(1)&gt;" in page
    assert "<b>old</b>" not in page
    assert "{&quot;members&quot;: [&quot;frank&quot;], &quot;name&quot;: &quot;Linux&quot;}" in page

    def summaries(query: str) -> list[str]:
        response = client.get(f"/audit/?{query}")
        assert response.status_code == 200
        return [row[0].summary for row in response.context["rows"]]

    team = Team.objects.get()
    assert summaries("action=login&actor=erin") == ["logged in"]
    assert summaries("actor=FRANK") == ["<svg onload=alert(1)>"]
    assert summaries(f"object_type=team&object_id={team.pk}") == ["<svg onload=alert(1)>"]
    assert summaries("since=2026-10-01&until=2026-10-02") == ["logged in"]
    assert summaries("since=2026-10-03&until=2026-10-31") == ["<svg onload=alert(1)>"]
    assert summaries("until=2026-10-01") == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("action=delete_everything", "Unknown action &#x27;delete_everything&#x27;"),
        ("since=yesterday", "The start date &#x27;yesterday&#x27; is not a date"),
        ("since=2026-12-02&until=2026-12-01", "The start date is after the end date."),
    ],
)
def test_a_bad_audit_filter_is_a_clear_400(client, query, message):
    client.force_login(make_user("analyst", role=Role.ANALYST))
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_audit_page_is_paginated(client):
    trail.record_many(trail.event(actor=None, action=trail.EXPORT, summary=f"export {n}") for n in range(60))
    client.force_login(make_user("analyst", role=Role.ANALYST))
    first = client.get("/audit/?action=export")
    assert len(first.context["rows"]) == 50
    assert "1\u201350 of 60" in first.content.decode()
    assert len(client.get("/audit/?action=export&page=2").context["rows"]) == 10


@pytest.mark.parametrize("role", [Role.VIEWER, Role.LEAD, Role.MEMBER])
def test_only_admins_and_analysts_open_the_audit_log(client, role):
    team = Team.objects.create(name="Linux")
    client.force_login(
        make_user("someone", role=role, team=team if role in (Role.LEAD, Role.MEMBER) else None)
    )
    assert client.get("/audit/").status_code == 403
