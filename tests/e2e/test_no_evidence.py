"""In Chromium: a machine whose last scan evaluated no rule shows Not applicable with what happened.

The scan is the genuine oscap 1.3.7 run of Debian 11 content on Debian 12 (tests/fixtures/oscap/README.md).
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from intake.pipeline import ingest_file
from tests.factories import make_resource, make_user

SCAN = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "oscap"
    / "debian11-anssi-minimal-on-debian12.oscap-1.3.7.xccdf.xml.xz"
)
SCREENSHOT = Path("/tmp/posture-no-evidence.png")
PASSWORD = "no-evidence-password-1"


@pytest.mark.browser
def test_the_machine_page_says_the_last_scan_evaluated_no_rule(live_server: LiveServer, browser_page: Page):
    machine = make_resource(name="vm", os="")
    assert ingest_file(SCAN).status == "imported"
    make_user("analyst", password=PASSWORD)
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/resources/{machine.pk}/")
    row = page.locator("tr", has_text="Vulnerabilities in security configuration on your machines")
    expect(row).to_contain_text("Not applicable")
    expect(row).to_contain_text(
        "evaluated no rule (331 not selected, 24 not applicable): its content targets Debian 11"
    )
    expect(page.locator("dd", has_text="Linux")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
