"""In Chromium: a group of subscriptions chosen in the header's scope selector."""

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from posture.models import SubscriptionGroup
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
    make_user,
)

PASSWORD = "scope-groups-password-1"


@pytest.mark.browser
def test_choosing_a_group_in_the_scope_selector_shows_its_score(live_server: LiveServer, browser_page: Page):
    # Alpha: 1 of 2 healthy in a control of max 10 -> 5.00 / 10, weight 2; Bravo: 10.00 / 10, weight 1;
    # Charlie (outside the group): 0.00 / 10. The group: (round(2 x 5 / 10, 2) + 1.00) / 3 = 66.67 %.
    rec = make_recommendation("r1")
    make_control("Protect", 10, [rec])
    alpha, bravo, charlie = (make_subscription(name) for name in ("Alpha", "Bravo", "Charlie"))
    for subscription, statuses in (
        (alpha, ["healthy", "unhealthy"]),
        (bravo, ["healthy"]),
        (charlie, ["unhealthy"]),
    ):
        for status in statuses:
            make_assessment(make_resource(subscription), rec, status)
    group = SubscriptionGroup.objects.create(name="Production")
    group.subscriptions.set([alpha, bravo])
    make_user("analyst", password=PASSWORD)

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secure score")).to_be_visible()

    page.get_by_label("Scope").select_option(label="Production")
    page.wait_for_url("**/?subscription=group%3AProduction")
    expect(page.locator("main")).to_contain_text("Production (group)")
    expect(page.locator(".score-percent")).to_have_text("66.67%")
    expect(page.get_by_label("Scope")).to_have_value("group:Production")
    # The nav keeps the group.
    page.get_by_role("link", name="Resources").click()
    expect(page.get_by_label("Scope")).to_have_value("group:Production")
    expect(page.locator("table.data tbody tr")).to_have_count(3)
