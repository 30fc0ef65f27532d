"""In Chromium: scans with failures, a day later a re-scan that fixes one machine, and the dashboard's
trend line of the secure score rises; the failed-rules and top-recommendations charts are drawn."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from intake.pipeline import ingest_stream
from tests.factories import make_user
from tests.scans import scan_xccdf

SCREENSHOT = Path("/tmp/posture-trend.png")
PASSWORD = "trend-password-1"
INVENTORY = (
    b"resource_id,name,kind,os,subscription\n"
    b"/subscriptions/1111/resourceGroups/web/providers/Microsoft.Compute/virtualMachines/web-01,web-01,vm,linux,Production\n"
    b"/subscriptions/1111/resourceGroups/web/providers/Microsoft.Compute/virtualMachines/web-02,web-02,vm,linux,Production\n"
)
FAILING = {"sshd_disable_root_login": "fail", "audit_enabled": "pass"}
FIXED = {"sshd_disable_root_login": "pass", "audit_enabled": "pass"}
# Chart.js loads after the page shows: until it has, `Chart` is not even defined.
DRAWN = "(id) => typeof Chart !== 'undefined' && Chart.getChart(document.getElementById(id)) !== undefined"
STILL_FAILING = {"sshd_disable_root_login": "pass", "audit_enabled": "fail"}


def chart_data(page: Page, canvas: str) -> dict[str, object]:
    return page.evaluate(
        """(id) => {
            const chart = Chart.getChart(document.getElementById(id));
            return { labels: chart.data.labels, datasets: chart.data.datasets.map(
                (set) => ({ label: set.label, data: set.data })) };
        }""",
        canvas,
    )


@pytest.mark.browser
def test_fixing_a_failed_rule_makes_the_secure_score_trend_rise(live_server: LiveServer, browser_page: Page):
    yesterday = timezone.now() - timedelta(days=1)
    with time_machine.travel(yesterday, tick=False):
        ingest_stream(io.BytesIO(INVENTORY), file_format="inventory")
        scan_xccdf("web-01", FAILING, when=yesterday)
        scan_xccdf("web-02", STILL_FAILING, when=yesterday)
    today = timezone.now()
    scan_xccdf("web-01", FIXED, when=today)
    make_user("analyst", password=PASSWORD)

    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/?next=/%3Fdays%3D7")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Score over time")).to_be_visible()
    page.wait_for_function(DRAWN, arg="trend-chart")
    trend = chart_data(page, "trend-chart")
    score = trend["datasets"][0]  # type: ignore[index]
    assert score["label"] == "Secure score"
    values = [value for value in score["data"] if value is not None]
    assert len(values) >= 2
    # Both machines failed yesterday; today web-01 is fixed and web-02 still fails.
    assert (values[0], values[-1]) == (0, 50)

    # The other two charts draw what their JSON says: web-02's failed rule, and fixing it as the gain.
    for canvas in ("failed-rules-severity-chart", "failed-rules-os-chart", "top-recommendations-chart"):
        page.wait_for_function(DRAWN, arg=canvas)
    assert chart_data(page, "failed-rules-severity-chart")["labels"] == ["Medium"]
    assert chart_data(page, "failed-rules-os-chart")["labels"] == ["Linux"]
    top = chart_data(page, "top-recommendations-chart")
    assert top["datasets"][0]["data"] == [2]  # type: ignore[index]
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "page")
    page.get_by_text("Table of the trend").click()
    expect(page.locator("details table").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
