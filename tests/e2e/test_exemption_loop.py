"""In Chromium: the tower lead's loop. From My items (an overdue item that says why) to an exemption
request on the item's page, its approval by an analyst, the item exempted until its date, the owner and
the lead told a week before, and the item back when the date is over.

The machine's scan is a genuine OpenSCAP 1.3.7 ARF (`../shared/data/oscap/debian-anssi-high.arf.xml.xz`,
../shared/README.md): 2 failed rules, scanned 2026-11-28 18:44:31 UTC."""

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from governance.exemption_requests import follow_expiry
from governance.models import Assignment, ExemptionRequest, GovernanceRule, RequestState, Team
from governance.roles import Role
from intake.pipeline import ingest_file
from recommendations.models import AssessmentStatus
from tests.factories import make_resource, make_subscription, make_user

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_ARF = ROOT.parent / "shared" / "data" / "oscap" / "debian-anssi-high.arf.xml.xz"
PASSWORD = "exemption-loop-password-1"
SCREENSHOTS = Path("/tmp/posture-exemption-loop")


def log_in(page: Page, url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
def test_a_lead_requests_an_exemption_an_analyst_approves_it_and_it_expires(
    live_server: LiveServer, browser_page: Page
) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    machine = make_resource(make_subscription("Production"), name="debian-12")
    linux = Team.objects.create(name="Linux servers")
    GovernanceRule.objects.create(name="Linux servers", priority=1, team=linux, timeframe_days=7)
    make_user("lina", role=Role.LEAD, team=linux, password=PASSWORD, email="lina@example.com")
    make_user("ana", role=Role.ANALYST, password=PASSWORD, email="ana@example.com")
    ingest_file(DEBIAN_ARF, resource=machine.resource_id)
    item = Assignment.objects.get(assessment__resource=machine)
    assert [m.to for m in mail.outbox] == [["lina@example.com"]]  # the rule assigned it to her tower
    mail.outbox.clear()
    until = timezone.localdate() + timedelta(days=20)
    page = browser_page

    # The lead: My items says why the item is open, and when it is due: a week after the scan.
    log_in(page, live_server.url, "lina")
    page.get_by_role("link", name="My items").click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"Item #{item.pk}"))
    expect(row).to_contain_text("2 failed OS configuration rules")
    expect(row).to_contain_text("first evidence 2026-11-28")
    expect(row).to_contain_text("2026-12-05")
    row.get_by_role("link", name=f"Item #{item.pk}").click()
    expect(page.get_by_text("Failed rules 2")).to_be_visible()
    page.get_by_label("Kind").select_option("waiver")
    page.get_by_label("Until (the last day it holds)").fill(until.isoformat())
    page.get_by_label("Justification").fill("Legacy appliance, replaced next month")
    page.get_by_role("button", name="Request exemption").click()
    expect(page.get_by_role("status")).to_contain_text("waits for an analyst's approval")
    expect(page.get_by_text(f"Waiver requested until {until:%Y-%m-%d} · pending")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "1-requested.png"), full_page=True)
    request = ExemptionRequest.objects.get()
    # The lead cannot approve it: no form, and the route refuses her.
    page.goto(f"{live_server.url}/exemption-requests/{request.pk}/")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # The analyst approves it.
    log_in(page, live_server.url, "ana")
    page.goto(f"{live_server.url}/exemption-requests/?state=pending")
    page.get_by_role("link", name=f"Request #{request.pk}").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_have_text(f"Request #{request.pk} approved.")
    expect(page.get_by_text("Exempted: Waiver")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "2-approved.png"), full_page=True)
    item.assessment.refresh_from_db()
    assert item.assessment.status == AssessmentStatus.NOT_APPLICABLE

    # The lead sees it among the exempted items, with its expiry.
    log_in(page, live_server.url, "lina")
    page.get_by_role("link", name="My items").click()
    page.get_by_role("link", name="Exempted", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"Item #{item.pk}"))
    expect(row).to_contain_text(f"Waiver until {until:%Y-%m-%d}")
    assert [m.to for m in mail.outbox] == [["lina@example.com"]]  # the decision

    # A week before the end, the lead is told; after its last day, the item counts again.
    mail.outbox.clear()
    with time_machine.travel(
        datetime.combine(until - timedelta(days=6), time(9), tzinfo=timezone.get_current_timezone())
    ):
        assert follow_expiry()["warned"] == 1
    assert [m.to for m in mail.outbox] == [["lina@example.com"]]
    with time_machine.travel(
        datetime.combine(until + timedelta(days=1), time(0, 30), tzinfo=timezone.get_current_timezone())
    ):
        assert follow_expiry()["expired"] == 1
    request.refresh_from_db()
    assert request.state == RequestState.EXPIRED
    page.goto(f"{live_server.url}/items/{item.pk}/")
    expect(page.get_by_text("Unhealthy", exact=True)).to_be_visible()
    expect(page.get_by_text("pending")).to_have_count(0)
    page.goto(f"{live_server.url}/exemption-requests/{request.pk}/")
    expect(page.get_by_text("Expired", exact=True)).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "3-expired.png"), full_page=True)
