"""Items that explain themselves: severity, reason, the failed rules or the assessment behind an item and
its first evidence, on its page and in My items; its history as old → new values; and the resource page
showing its items (team, owner, due date, links) instead of inviting a second assignment.

Scans are XCCDF results built by tests/scap_builder.py (written for the tests, not genuine samples) and
go through the import pipeline, so items are made by a governance rule as in production."""

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine
from django.test import Client

from governance.assignments import Change, assign, update_item
from governance.models import Assignment, AssignmentStatus, GovernanceRule, Team
from governance.roles import Role
from posture.models import Resource
from recommendations.models import Assessment, Finding
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import scan_xccdf

pytestmark = pytest.mark.django_db

SCANNED = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def machine() -> Resource:
    """web-1 of the Linux tower, failing a high and a medium rule since the scan of 2026-11-20."""
    web = make_resource(make_subscription("Production"), name="web-1")
    linux = Team.objects.create(name="Linux tower")
    GovernanceRule.objects.create(name="Linux", priority=1, team=linux, timeframe_days=7)
    with time_machine.travel(NOW, tick=False):
        scan_xccdf(
            "web-1",
            {"sshd_disable_root_login": "fail", "tmp_noexec": "fail", "audit_on": "pass"},
            when=SCANNED,
            severities={"sshd_disable_root_login": "high", "tmp_noexec": "medium"},
            titles={"sshd_disable_root_login": "Disable SSH root login"},
            cces={"sshd_disable_root_login": "CCE-80901-0"},
        )
    return web


def machine_item(machine: Resource) -> Assignment:
    return Assignment.objects.get(assessment__resource=machine, finding__isnull=True)


def page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_an_items_page_says_its_severity_reason_failed_rules_and_first_evidence(machine):
    item = machine_item(machine)
    lead = make_user("lead", role=Role.LEAD, team=item.team)
    with time_machine.travel(NOW, tick=False):
        html = text(page(lead, f"/items/{item.pk}/"))
    assert "Severity High" in html  # its most severe failed rule's
    assert "Reason 2 failed OS configuration rules" in html
    assert "First evidence 2026-11-20 06:00" in html
    assert "Due 2026-11-27 Overdue" in html
    assert "Failed rules 2" in html
    # Most severe first, each with its CCE, severity and first scan.
    rules = html[html.index("Failed rules 2") :]
    assert rules.index("Disable SSH root login CCE-80901-0 High") < rules.index("tmp noexec — Medium")
    assert "audit on" not in rules  # passing


def test_a_failed_rules_item_says_its_own_severity_and_what_was_expected_and_found(machine):
    finding = Finding.objects.get(resource=machine, rule__cce="CCE-80901-0")
    analyst = make_user("analyst", role=Role.ANALYST)
    with time_machine.travel(NOW, tick=False):
        item = assign(
            user=analyst,
            assessment=machine_item(machine).assessment,
            team=Team.objects.get(name="Linux tower"),
            finding=finding,
        )
        html = text(page(analyst, f"/items/{item.pk}/"))
    assert "Severity High" in html
    assert "Reason Failed rule CCE-80901-0: expected" in html
    assert "First evidence 2026-11-20 06:00 the first scan that found the rule failing" in html
    assert "Failed rules 1" in html


def test_the_history_shows_old_and_new_values(machine):
    item = machine_item(machine)
    lead = make_user("lead", role=Role.LEAD, team=item.team, email="lead@example.com")
    with time_machine.travel(NOW, tick=False):
        update_item(user=lead, item=item, change=Change(status=AssignmentStatus.IN_PROGRESS, comment="on it"))
        update_item(user=lead, item=item, change=Change(owner="lead@example.com"))
        html = text(page(lead, f"/items/{item.pk}/"))
    history = html[html.index("History") :]
    assert "Status: Open → In progress" in history
    assert "Owner: — → lead@example.com" in history
    assert "Comment: “on it”" in history
    # The rule's assignment: from nothing to the team and the due date.
    assert "Team: — → Linux tower" in history
    assert "Due: — → 2026-11-27" in history


def test_my_items_shows_severity_reason_and_first_evidence(machine):
    item = machine_item(machine)
    lead = make_user("lead", role=Role.LEAD, team=item.team)
    with time_machine.travel(NOW, tick=False):
        html = text(page(lead, "/my-items/"))
    assert "Severity Reason" in html
    assert "High 2 failed OS configuration rules" in html
    assert "first evidence 2026-11-20" in html


def test_the_resource_page_shows_its_item_instead_of_a_second_assignment(machine):
    item = machine_item(machine)
    analyst = make_user("analyst", role=Role.ANALYST)
    with time_machine.travel(NOW, tick=False):
        html = page(analyst, f"/resources/{machine.pk}/")
    assessment = item.assessment
    # The assigned assessment: its item, team and due date, linked; no assign form for it.
    assert f'href="/items/{item.pk}/"' in html
    assert f'name="assessment" value="{assessment.pk}"' not in html
    words = text(html)
    assert f"Item #{item.pk} Open Linux tower · due 2026-11-27 Overdue" in words
    assert "Items 1" in words


def test_an_unassigned_unhealthy_assessment_still_offers_the_assign_form(machine):
    other = Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns")
    Assignment.objects.filter(assessment=other).delete()
    analyst = make_user("analyst", role=Role.ANALYST)
    html = page(analyst, f"/resources/{machine.pk}/")
    assert f'name="assessment" value="{other.pk}"' in html
    assert "Items" not in text(html).split("Assessments")[0]


def test_on_a_shared_machine_each_tower_sees_only_its_own_items(machine):
    linux_item = machine_item(machine)
    windows = Team.objects.create(name="Windows")
    analyst = make_user("analyst", role=Role.ANALYST)
    finding = Finding.objects.get(resource=machine, rule__cce="CCE-80901-0")
    with time_machine.travel(NOW, tick=False):
        windows_item = assign(user=analyst, assessment=linux_item.assessment, team=windows, finding=finding)
    win_lead = make_user("win-lead", role=Role.LEAD, team=windows)
    html = page(win_lead, f"/resources/{machine.pk}/")
    assert f'href="/items/{windows_item.pk}/"' in html
    assert f'href="/items/{linux_item.pk}/"' not in html
    assert "Linux tower" not in text(html)
    client = Client()
    client.force_login(win_lead)
    assert client.get(f"/items/{linux_item.pk}/").status_code == 404
    assert date(2026, 11, 27) == linux_item.due_date
