"""In Chromium: a subscription's dashboard shows Defender's reported score beside Posture's, flagged
when they differ, with the resources that explain "Remediate security configurations". The reported
figures are Microsoft's published example (GENUINE; provenance in tests/posture/test_defender_scores.py)."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from intake.pipeline import ingest_file
from recommendations.models import AssessmentStatus
from tests.factories import make_assessment, make_resource, make_subscription, make_user

SCORES = Path(__file__).resolve().parent.parent / "fixtures" / "defender-score"
SCREENSHOT = Path("/tmp/posture-reported-score.png")
PASSWORD = "reported-score-password-1"


@pytest.mark.browser
def test_the_dashboard_shows_defenders_score_beside_posture(live_server: LiveServer, browser_page: Page):
    subscription = make_subscription("Contoso", external_id="20ff7fc3-e762-44dd-bd96-b71116dcdc23")
    make_assessment(
        make_resource(subscription, name="web-01"), "machine-config-vulns", AssessmentStatus.UNHEALTHY
    )
    for name in ("rest-securescores.json", "rest-securescorecontrols.json"):
        assert ingest_file(SCORES / name).status == "imported"
    make_user("analyst", password=PASSWORD)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/?subscription=Contoso")
    expect(page.locator(".reported-line")).to_contain_text("Defender reported 23.53 / 39 points (60.33%)")
    section = page.locator("#reported")
    expect(section.get_by_role("heading", name="Defender's own score")).to_contain_text("differs")
    row = section.locator("tr", has_text="Remediate security configurations")
    expect(row).to_contain_text("0.00 / 4")
    expect(row).to_contain_text("yes")
    expect(section.locator(".reported-resources")).to_contain_text("web-01")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
