"""Mail: the note to a new assignee, and the weekly digest to owners and team leads."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from config.celery import app as celery_app
from governance import exemptions
from governance.assignments import apply_rules, assign
from governance.models import Assignment, GovernanceRule, Team
from governance.notifications import send_weekly_digests
from governance.roles import Role
from governance.tasks import weekly_digest
from governance.towers import refresh_tower_summaries
from tests.factories import make_assessment, make_recommendation, make_resource, make_user

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)


@pytest.fixture
def eager_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tasks, as on the SQLite pass, whatever REDIS_URL says (the clock is travelled here)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def make_item(team: Team | None, owner: str, due: date, name: str) -> Assignment:
    rec = make_recommendation(display_name=f"Fix {name}")
    assessment = make_assessment(make_resource(name=name), rec, "unhealthy")
    created = Assignment.objects.create(
        assessment=assessment, team=team, owner=owner, first_detected=MONDAY, due_date=due
    )
    refresh_tower_summaries([created.assessment.resource_id])
    return created


def test_the_digest_mails_each_owner_their_items_and_each_lead_the_teams_overdue_ones(eager_celery):
    linux = Team.objects.create(name="Linux")
    make_user("lead", role=Role.LEAD, team=linux, email="lead@example.com")
    make_user("member", role=Role.MEMBER, team=linux, email="member@example.com")
    today = date(2026, 12, 7)
    make_item(linux, "alice@example.com", today - timedelta(days=3), "late-01")
    make_item(linux, "alice@example.com", today + timedelta(days=10), "soon-01")
    make_item(linux, "bob@example.com", today + timedelta(days=1), "soon-02")
    make_item(linux, "", today - timedelta(days=1), "late-02")
    make_item(None, "not an address", today - timedelta(days=9), "late-03")

    with time_machine.travel(MONDAY, tick=False):
        assert weekly_digest.delay().get() == 3

    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"alice@example.com", "bob@example.com", "lead@example.com"}
    alice = by_recipient["alice@example.com"]
    assert alice.subject == "Posture weekly digest: 2 open, 1 overdue"
    assert "Overdue:\n- Fix late-01 on late-01: due 2026-12-04" in alice.body
    assert "Open:\n- Fix soon-01 on soon-01: due 2026-12-17" in alice.body
    assert by_recipient["bob@example.com"].subject == "Posture weekly digest: 1 open, 0 overdue"
    lead = by_recipient["lead@example.com"]
    assert lead.subject == "Posture: 2 overdue item(s) in Linux"
    assert "late-01" in lead.body
    assert "late-02" in lead.body
    assert "soon" not in lead.body


def test_resolved_and_exempted_items_are_not_in_the_digest():
    item = make_item(None, "alice@example.com", date(2026, 12, 1), "db-01")
    done = make_item(None, "alice@example.com", date(2026, 12, 1), "db-02")
    done.status = "resolved"
    done.save()
    exemptions.create_exemption(
        user=make_user(),
        recommendation=item.assessment.recommendation,
        category="waiver",
        justification="decommissioned next week",
    )
    with time_machine.travel(MONDAY, tick=False):
        assert send_weekly_digests() == 0
    assert mail.outbox == []


def test_a_rule_assigning_items_sends_one_mail_to_the_owner(django_capture_on_commit_callbacks):
    rec = make_recommendation(display_name="Disk encryption")
    for name in ("db-01", "db-02"):
        make_assessment(make_resource(name=name, tags={"owner": "dba@example.com"}), rec, "unhealthy")
    GovernanceRule.objects.create(name="Owners", priority=1, owner_tag="owner", timeframe_days=14)
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_rules() == 2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dba@example.com"]
    assert message.subject == "Posture: 2 items assigned to you"
    assert "Disk encryption on db-01" in message.body
    assert "Disk encryption on db-02" in message.body


def test_assigning_by_hand_mails_the_owner_once_the_transaction_commits(django_capture_on_commit_callbacks):
    linux = Team.objects.create(name="Linux")
    make_user("carol", role=Role.MEMBER, team=linux, email="carol@example.com")  # an owner is a member
    assessment = make_assessment(make_resource(name="web-01"), make_recommendation(), "unhealthy")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assign(user=make_user(), assessment=assessment, team=linux, owner="carol@example.com")
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    assert mail.outbox[0].subject == "Posture: 1 item assigned to you"


def test_an_owner_tag_that_is_no_address_mails_the_teams_lead_instead(django_capture_on_commit_callbacks):
    linux = Team.objects.create(name="Linux")
    make_user("lead", role=Role.LEAD, team=linux, email="lead@example.com")
    make_assessment(make_resource(tags={"owner": "alice"}), make_recommendation(), "unhealthy")
    GovernanceRule.objects.create(name="Linux", priority=1, team=linux, owner_tag="owner")
    with django_capture_on_commit_callbacks(execute=True):
        apply_rules()
    assert [m.to for m in mail.outbox] == [["lead@example.com"]]
