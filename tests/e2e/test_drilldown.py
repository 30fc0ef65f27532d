"""In Chromium: log in, drill down from the dashboard's unhealthy count to a resource and its reason."""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from posture.models import Resource
from recommendations.models import Assessment, AssessmentStatus
from tests.factories import make_user

RSC = "Remediate security configurations"
SCREENSHOT = Path("/tmp/posture-dashboard.png")
PASSWORD = "drill-down-password-1"


@pytest.mark.browser
def test_drill_down_from_the_dashboard_to_an_unhealthy_reason(live_server: LiveServer, browser_page: Page):
    call_command("load_demo")
    make_user("analyst", password=PASSWORD)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Secure score")).to_be_visible()
    # The doughnut is drawn (Chart.js from node_modules attaches itself to the canvas).
    page.wait_for_function(
        "() => typeof Chart !== 'undefined'"
        " && Chart.getChart(document.getElementById('score-chart')) !== undefined"
    )
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    row = page.locator("tr", has=page.get_by_role("link", name=RSC, exact=True))
    unhealthy = row.locator("a.count.unhealthy")
    count = int(unhealthy.inner_text())
    assert count > 0
    unhealthy.click()

    expect(page.get_by_role("heading", name="Resources")).to_be_visible()
    expect(page.locator(".pagination .range")).to_contain_text(f"of {count}")
    first = page.locator("table.data tbody tr").first.locator("td.name").get_by_role("link")
    name = first.inner_text()
    first.click()

    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    resource = Resource.objects.get(name=name)
    unhealthy_assessment = (
        Assessment.objects.filter(
            resource=resource,
            status=AssessmentStatus.UNHEALTHY,
            recommendation__controls__name=RSC,
            recommendation__preview=False,
        )
        .exclude(reason="")
        .first()
    )
    assert unhealthy_assessment is not None
    expect(page.locator("td.reason", has_text=unhealthy_assessment.reason).first).to_be_visible()


@pytest.mark.browser
def test_scope_selector_rescopes_the_page(live_server: LiveServer, browser_page: Page):
    call_command("load_demo")
    make_user("analyst", password=PASSWORD)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("Scope").select_option("Staging")
    expect(page).to_have_url(f"{live_server.url}/?subscription=Staging")
    expect(page.locator(".page-head")).to_contain_text("Subscription Staging")
    page.get_by_role("link", name="Resources", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/resources/?subscription=Staging")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
