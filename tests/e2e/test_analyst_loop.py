"""In Chromium, the analyst's loop on the demo estate: from the score to the unhealthy resources, to the
reason a machine fails its OS-configuration recommendation, to that recommendation's failed rules, and
to the critical findings as a CSV in one click."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from recommendations.models import Finding
from tests.factories import make_user

PASSWORD = "analyst-loop-password-1"
RSC = "Remediate security configurations"
MACHINES = "Vulnerabilities in security configuration on your machines should be remediated"
SCREENSHOTS = Path("/tmp/posture-analyst-loop")


@pytest.mark.browser
def test_from_the_score_to_a_reason_to_a_critical_csv(live_server: LiveServer, browser_page: Page) -> None:
    call_command("load_demo")
    make_user("analyst", password=PASSWORD)
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # The score: the control's unhealthy count leads to the resources behind it.
    row = page.locator("tr", has=page.get_by_role("link", name=RSC, exact=True))
    row.locator("a.count.unhealthy").click()
    expect(page.get_by_role("heading", name="Resources", level=1)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Failing recommendations and reason")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "1-resources.png"), full_page=True)

    # A machine failing the OS-configuration recommendation says why, with its failed rules by severity.
    # (The first such machine scanned by Posture: an AWS machine's reason is its Security Hub check.)
    failing = (
        page.locator("td.failing p", has=page.get_by_role("link", name=MACHINES, exact=True))
        .filter(has_text="failed OS configuration rule")
        .first
    )
    reason = failing.locator(".reason").inner_text()
    assert "failed OS configuration rule" in reason
    assert "high severity" not in reason
    failing.get_by_role("link", name=MACHINES, exact=True).click()

    # The recommendation: its unhealthy machines with reason, team and due date, then its failed rules.
    expect(page.get_by_role("heading", name=MACHINES, level=1)).to_be_visible()
    expect(page.locator("td.reason", has_text=reason).first).to_be_visible()
    for header in ("Team", "Owner", "Due date"):
        expect(page.get_by_role("columnheader", name=header)).to_be_visible()
    page.get_by_role("link", name="Failed rules").click()
    expect(page.get_by_role("columnheader", name="Machines failing")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "2-failed-rules.png"), full_page=True)

    # One click: the critical findings of this recommendation's machines.
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export critical findings · CSV").click()
    download = waiting.value
    assert download.suggested_filename.startswith("findings-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"), newline="")))
    expected = Finding.objects.filter(
        state="open", rule__severity__in=("critical", "high"), resource__kind__in=("vm", "arc_machine")
    )
    assert len(rows) == expected.count() > 0
    assert {row["severity"] for row in rows} <= {"critical", "high"}
    assert {row["state"] for row in rows} == {"open"}
