"""In Chromium: a tower lead's morning — only the tower's items on My items, two of them handed to a
member of the tower in one go, and both changes in the audit log."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from audit.models import AuditEvent
from governance.assignments import assign
from governance.models import Assignment, Team
from governance.roles import Role
from tests.factories import make_assessment, make_recommendation, make_resource, make_user

PASSWORD = "tower-lead-password-1"


@pytest.mark.browser
def test_a_tower_lead_bulk_assigns_two_items_to_a_member(live_server: LiveServer, browser_page: Page):
    linux, windows = Team.objects.create(name="Linux"), Team.objects.create(name="Windows")
    analyst = make_user("analyst")
    make_user("lin-lead", role=Role.LEAD, team=linux, password=PASSWORD, email="lin-lead@example.com")
    make_user("lin-member", role=Role.MEMBER, team=linux, email="lin-member@example.com")
    patch, agent = (
        make_recommendation(display_name="Apply OS patches"),
        make_recommendation(display_name="Install the monitoring agent"),
    )
    soon = timezone.localdate() + timedelta(days=3)

    def item(name: str, team: Team) -> Assignment:
        resource = make_resource(name=name)
        return assign(
            user=analyst,
            assessment=make_assessment(resource, patch if team == linux else agent, "unhealthy"),
            team=team,
            due=soon,
        )

    first, second, third = item("lnx-01", linux), item("lnx-02", linux), item("lnx-03", linux)
    hidden = item("win-01", windows)

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("lin-lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="My items").click()

    expect(page.get_by_role("heading", name="My items", level=1)).to_be_visible()
    for mine in (first, second, third):
        expect(page.get_by_role("link", name=f"Item #{mine.pk}")).to_be_visible()
    expect(page.get_by_role("link", name=f"Item #{hidden.pk}")).to_have_count(0)
    expect(page.get_by_text("win-01")).to_have_count(0)
    expect(page.get_by_text("Install the monitoring agent")).to_have_count(0)

    page.get_by_label(f"Select item {first.pk}: lnx-01").check()
    page.get_by_label(f"Select item {second.pk}: lnx-02").check()
    page.get_by_label("Member's email").fill("lin-member@example.com")
    page.get_by_role("button", name="Assign selected").click()

    expect(page.get_by_role("status")).to_have_text("2 items changed.")
    owners = dict(Assignment.objects.values_list("pk", "owner"))
    assert owners[first.pk] == owners[second.pk] == "lin-member@example.com"
    assert owners[third.pk] == owners[hidden.pk] == ""
    for changed in (first, second):
        event = AuditEvent.objects.get(
            object_type="assignment", object_id=str(changed.pk), action="assign", actor_name="lin-lead"
        )
        assert event.after is not None
        assert event.after["owner"] == "lin-member@example.com"
    row = page.locator("tr", has=page.get_by_role("link", name=f"Item #{first.pk}"))
    expect(row).to_contain_text("lin-member@example.com")
