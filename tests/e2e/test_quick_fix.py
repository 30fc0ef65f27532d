"""In Chromium: the agent recommendations' Quick fix, and a subscription's auto-provisioning."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from posture.agents import authenticate_token
from recommendations.models import Assessment, AssessmentStatus
from tests.factories import make_user

PASSWORD = "quick-fix-password-1"
TOKEN = re.compile(r"pst_[A-Za-z0-9_-]{43}")


def log_in(page: Page, url: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secure score")).to_be_visible()


@pytest.mark.browser
def test_quick_fix_shows_install_commands_for_the_selected_machines(
    live_server: LiveServer, browser_page: Page
):
    call_command("load_demo")
    make_user("analyst", password=PASSWORD)
    page = browser_page
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/recommendations/vm-agent-installed/")
    unhealthy = list(
        Assessment.objects.filter(
            recommendation__key="vm-agent-installed", status=AssessmentStatus.UNHEALTHY
        ).values_list("resource__name", flat=True)
    )
    assert len(unhealthy) > 2
    button = page.get_by_role("button", name=re.compile("^Quick fix"))
    expect(button).to_be_disabled()
    page.get_by_label("Select every machine on this page").check()
    expect(button).to_have_text(f"Quick fix ({len(unhealthy)})")
    page.get_by_label(f"Select {unhealthy[0]}").uncheck()
    expect(button).to_have_text(f"Quick fix ({len(unhealthy) - 1})")
    button.click()

    expect(page.get_by_role("heading", name="Install the monitoring agent")).to_be_visible()
    rows = page.locator("table.install-commands tbody tr")
    expect(rows).to_have_count(len(unhealthy) - 1)
    expect(page.locator("table.install-commands")).not_to_contain_text(unhealthy[0])
    first = rows.first.locator("pre code").first.inner_text()
    token = TOKEN.search(first)
    assert token is not None
    assert first.startswith(f"curl -fsSL {live_server.url}/agent/install.sh | sudo sh -s -- ")
    record = authenticate_token(token.group(0))
    assert record is not None
    assert record.workspace.workspace_id == "ws-main"
    # The copy button copies (or, without clipboard access, selects) the command.
    copy = rows.first.locator("button[data-copy]")
    copy.click()
    expect(copy).to_have_text(re.compile("Copied|Selected"))


@pytest.mark.browser
def test_turning_auto_provisioning_on_marks_machines_pending(live_server: LiveServer, browser_page: Page):
    call_command("load_demo")
    make_user("analyst", password=PASSWORD)
    page = browser_page
    log_in(page, live_server.url)

    page.get_by_role("link", name="Subscriptions").click()
    expect(page.get_by_role("heading", name="Subscriptions", level=1)).to_be_visible()
    page.get_by_label("Auto-provisioning of Staging").select_option("ws-main")
    page.locator("tr", has=page.get_by_text("Staging", exact=True)).get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Auto-provisioning is on for Staging (workspace Main)")
    pending = Assessment.objects.get(resource__name="stg-db-04", recommendation__key="vm-agent-installed")
    assert (pending.status, pending.reason) == (AssessmentStatus.UNHEALTHY, "Pending agent installation")
    row = page.locator("tr", has=page.get_by_text("Staging", exact=True))
    expect(row.get_by_label("Auto-provisioning of Staging")).to_have_value("ws-main")
