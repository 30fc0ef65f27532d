"""My items, bulk actions, the item page, assigning by hand and the governance report, on a small
hand-built estate: two towers (Linux and Windows), a lead and a member in Linux, a lead in Windows."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from governance.models import Assignment, AssignmentStatus, Comment, GovernanceRule, Team
from governance.roles import Role
from governance.selectors import governance_report, group_items, open_items
from governance.towers import refresh_tower_summaries
from posture.models import Resource
from posture.scope import ESTATE
from recommendations.models import Assessment
from tests.factories import make_assessment, make_recommendation, make_resource, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 10)
NOON = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)


@dataclass
class Estate:
    linux: Team
    windows: Team
    lin_lead: User
    lin_member: User
    win_lead: User
    analyst: User


@pytest.fixture
def estate() -> Estate:
    linux = Team.objects.create(name="Linux")
    windows = Team.objects.create(name="Windows")
    return Estate(
        linux=linux,
        windows=windows,
        lin_lead=make_user("lin-lead", role=Role.LEAD, team=linux, email="lin-lead@example.com"),
        lin_member=make_user("lin-member", role=Role.MEMBER, team=linux, email="lin-member@example.com"),
        win_lead=make_user("win-lead", role=Role.LEAD, team=windows, email="win-lead@example.com"),
        analyst=make_user("analyst", role=Role.ANALYST, email="analyst@example.com"),
    )


def make_item(
    team: Team | None,
    due: date,
    *,
    status: str = AssignmentStatus.OPEN,
    recommendation: str = "Disk encryption",
    resource: Resource | None = None,
    rule: GovernanceRule | None = None,
    resolved_at: datetime | None = None,
) -> Assignment:
    assessment = make_assessment(
        resource or make_resource(), make_recommendation(display_name=recommendation), "unhealthy"
    )
    created = Assignment.objects.create(
        assessment=assessment,
        team=team,
        rule=rule,
        status=status,
        first_detected=timezone.now(),
        due_date=due,
        resolved_at=resolved_at,
    )
    refresh_tower_summaries([created.assessment.resource_id])
    return created


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def bulk(user: User, items: list[Assignment], action: str, **fields: str):
    data = {"item": [str(i.pk) for i in items], "action": action, **fields}
    return client_for(user).post("/items/bulk/", data, follow=True)


def events(item: Assignment, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="assignment", object_id=str(item.pk), action=action))


# --- My items ---------------------------------------------------------------------------------------


def test_open_items_are_grouped_by_due_date_then_recommendation(estate):
    overdue = make_item(estate.linux, TODAY - timedelta(days=1), recommendation="Patch")
    today = make_item(estate.linux, TODAY, recommendation="Patch")
    in_six_days = make_item(estate.linux, TODAY + timedelta(days=6), recommendation="Antivirus")
    in_a_week = make_item(estate.linux, TODAY + timedelta(days=7), recommendation="Patch")
    make_item(estate.linux, TODAY, status=AssignmentStatus.RESOLVED)
    make_item(estate.linux, TODAY, status=AssignmentStatus.RISK_ACCEPTED)
    in_progress = make_item(estate.linux, TODAY + timedelta(days=2), status=AssignmentStatus.IN_PROGRESS)

    groups = group_items(open_items(estate.lin_lead, ESTATE), today=TODAY)

    shown = {
        group.label: {rec.name: [i.pk for i in rec.items] for rec in group.recommendations}
        for group in groups
    }
    assert shown == {
        "Overdue": {"Patch": [overdue.pk]},
        "This week": {
            "Antivirus": [in_six_days.pk],
            "Disk encryption": [in_progress.pk],
            "Patch": [today.pk],
        },
        "Later": {"Patch": [in_a_week.pk]},
    }
    assert [group.count for group in groups] == [1, 3, 1]


def test_a_lead_sees_only_the_towers_open_items_and_an_analyst_sees_all(estate):
    mine = make_item(estate.linux, TODAY, recommendation="Linux patching")
    theirs = make_item(estate.windows, TODAY, recommendation="Windows patching")

    lead_page = client_for(estate.lin_lead).get("/my-items/")
    analyst_page = client_for(estate.analyst).get("/my-items/")

    assert lead_page.status_code == 200
    assert f"/items/{mine.pk}/" in lead_page.text
    assert f"/items/{theirs.pk}/" not in lead_page.text
    assert "Windows patching" not in lead_page.text
    assert f"/items/{mine.pk}/" in analyst_page.text
    assert f"/items/{theirs.pk}/" in analyst_page.text


def test_a_finding_item_shows_the_failed_rules_title_and_cce(estate):
    from recommendations.models import Finding, Rule

    item = make_item(estate.linux, TODAY)
    rule = Rule.objects.create(
        key="r1", cce="CCE-80785-1", rule_id="sshd_root", title="Disable SSH root login"
    )
    resource = item.assessment.resource
    finding = Finding.objects.create(
        resource=resource, rule=rule, state="open", result="fail", last_seen=timezone.now()
    )
    Assignment.objects.filter(pk=item.pk).update(finding=finding)

    page = client_for(estate.lin_lead).get("/my-items/")

    assert "Disable SSH root login" in page.text
    assert "CCE-80785-1" in page.text


def test_the_my_items_link_shows_only_to_roles_that_may_open_it(estate):
    viewer = make_user("viewer", role=Role.VIEWER)
    assert ">My items</a>" in client_for(estate.lin_member).get("/").text
    assert ">My items</a>" not in client_for(viewer).get("/").text
    assert client_for(viewer).get("/my-items/").status_code == 403


# --- bulk actions -----------------------------------------------------------------------------------


def test_a_lead_bulk_assigns_to_a_member_of_the_tower_with_an_audit_entry_each(estate):
    first, second = make_item(estate.linux, TODAY), make_item(estate.linux, TODAY)

    response = bulk(estate.lin_lead, [first, second], "assign", owner="lin-member@example.com")

    assert flash(response) == ["2 items changed."]
    assert set(Assignment.objects.values_list("owner", flat=True)) == {"lin-member@example.com"}
    for item in (first, second):
        (event,) = events(item, "assign")
        assert event.actor == estate.lin_lead
        assert (event.before or {}).get("owner") == ""
        assert (event.after or {}).get("owner") == "lin-member@example.com"


def test_a_bulk_action_with_another_towers_item_is_refused_and_changes_nothing(estate):
    mine, theirs = make_item(estate.linux, TODAY), make_item(estate.windows, TODAY)

    response = bulk(estate.lin_lead, [mine, theirs], "status", status=AssignmentStatus.IN_PROGRESS)

    assert flash(response) == [
        f"Nothing changed: you cannot change 1 of the 2 selected items (#{theirs.pk})."
    ]
    assert set(Assignment.objects.values_list("status", flat=True)) == {AssignmentStatus.OPEN}
    assert not AuditEvent.objects.filter(object_type="assignment").exists()


def test_a_member_cannot_reassign(estate):
    item = make_item(estate.linux, TODAY)

    response = bulk(estate.lin_member, [item], "assign", owner="lin-lead@example.com")

    assert flash(response) == ["Nothing changed: a tower member cannot reassign items; ask the tower lead."]
    item.refresh_from_db()
    assert item.owner == ""
    assert not events(item, "assign")


def test_a_lead_cannot_assign_to_someone_outside_the_tower(estate):
    item = make_item(estate.linux, TODAY)

    response = bulk(estate.lin_lead, [item], "assign", owner="win-lead@example.com")

    assert flash(response) == ["Nothing changed: win-lead@example.com is not a member of Linux."]
    item.refresh_from_db()
    assert item.owner == ""


def test_a_refusal_half_way_rolls_back_the_items_already_changed(estate):
    # The analyst assigns without choosing a team: the second item has none, so it cannot be given to
    # "a member of its team" — the first, already changed, must be rolled back with it.
    first, orphan = make_item(estate.linux, TODAY), make_item(None, TODAY + timedelta(days=1))

    response = bulk(estate.analyst, [first, orphan], "assign", owner="lin-member@example.com")

    assert flash(response) == [f"Nothing changed: item #{orphan.pk} has no team: choose the team too."]
    first.refresh_from_db()
    assert first.owner == ""
    assert not first.manual
    assert not AuditEvent.objects.filter(object_type="assignment").exists()


def test_an_analyst_bulk_assigns_to_another_team(estate):
    first, second = make_item(estate.linux, TODAY), make_item(None, TODAY)

    response = bulk(
        estate.analyst, [first, second], "assign", team=str(estate.windows.pk), owner="win-lead@example.com"
    )

    assert flash(response) == ["2 items changed."]
    assert set(Assignment.objects.values_list("team__name", "owner")) == {("Windows", "win-lead@example.com")}


def test_a_member_bulk_sets_status_eta_and_comment_each_recorded(estate):
    first, second = make_item(estate.linux, TODAY), make_item(estate.linux, TODAY)
    member = estate.lin_member

    assert flash(bulk(member, [first, second], "status", status="in_progress")) == ["2 items changed."]
    assert flash(bulk(member, [first, second], "eta", eta="2026-12-20")) == ["2 items changed."]
    assert flash(bulk(member, [first, second], "comment", comment="Patch window on the 20th")) == [
        "2 items changed."
    ]

    for item in (first, second):
        item.refresh_from_db()
        assert (item.status, item.eta) == (AssignmentStatus.IN_PROGRESS, date(2026, 12, 20))
        assert [c.text for c in item.comments.all()] == ["Patch window on the 20th"]
        for action in ("status", "eta", "comment"):
            (event,) = events(item, action)
            assert event.actor == member


def test_a_bulk_action_without_a_selection_or_with_a_bad_value_says_so(estate):
    item = make_item(estate.linux, TODAY)
    assert flash(bulk(estate.lin_lead, [], "status", status="open")) == [
        "Nothing changed: select at least one item."
    ]
    assert flash(bulk(estate.lin_lead, [item], "eta", eta="next week")) == [
        "Nothing changed: the ETA must be a date (YYYY-MM-DD), not 'next week'."
    ]
    assert not Comment.objects.exists()


# --- the item page ----------------------------------------------------------------------------------


def test_another_towers_item_is_a_404_by_guessed_id(estate):
    theirs = make_item(estate.windows, TODAY)
    client = client_for(estate.lin_lead)

    assert client.get(f"/items/{theirs.pk}/").status_code == 404
    assert client.post(f"/items/{theirs.pk}/update/", {"status": "resolved"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == AssignmentStatus.OPEN


def test_the_item_page_shows_comments_and_history_newest_first(estate):
    item = make_item(estate.linux, TODAY)
    client = client_for(estate.lin_member)

    client.post(f"/items/{item.pk}/update/", {"status": "in_progress", "comment": "Looking at it"})
    client.post(f"/items/{item.pk}/update/", {"status": "resolved"})
    page = client.get(f"/items/{item.pk}/")

    assert page.status_code == 200
    history = [event.action for event in page.context["history"]]
    assert history == ["status", "comment", "status"]
    assert "Looking at it" in page.text
    item.refresh_from_db()
    assert item.status == AssignmentStatus.RESOLVED


# --- assigning by hand ------------------------------------------------------------------------------


def test_an_analyst_assigns_an_assessment_from_the_resource_page(estate):
    resource = make_resource(name="web-01")
    assessment = make_assessment(resource, make_recommendation(display_name="Patch"), "unhealthy")
    client = client_for(estate.analyst)
    page = client.get(f"/resources/{resource.pk}/")
    assert 'action="/assign/"' in page.text

    response = client.post(
        "/assign/",
        {
            "assessment": assessment.pk,
            "team": estate.linux.pk,
            "owner": "lin-member@example.com",
            "due": "2026-12-31",
        },
        follow=True,
    )

    assert flash(response) == ["Assigned to Linux, lin-member@example.com, due 2026-12-31."]
    item = Assignment.objects.get(assessment=assessment)
    assert (item.team, item.owner, item.due_date, item.manual) == (
        estate.linux,
        "lin-member@example.com",
        date(2026, 12, 31),
        True,
    )
    assert events(item, "assign")[0].actor == estate.analyst


def test_a_lead_cannot_assign_to_another_team(estate):
    mine = make_item(estate.linux, TODAY)
    other = make_assessment(mine.assessment.resource, make_recommendation(), "unhealthy")

    response = client_for(estate.lin_lead).post(
        "/assign/", {"assessment": other.pk, "team": estate.windows.pk}, follow=True
    )

    assert flash(response) == [
        "Not assigned: only analysts assign to another team; a lead assigns within the tower."
    ]
    assert not Assignment.objects.filter(assessment=other).exists()


def test_a_member_cannot_open_the_assign_route(estate):
    assessment = make_assessment(make_resource(), make_recommendation(), "unhealthy")
    response = client_for(estate.lin_member).post("/assign/", {"assessment": assessment.pk})
    assert response.status_code == 403


# --- the governance report --------------------------------------------------------------------------


def report_estate(estate: Estate) -> None:
    linux_rule = GovernanceRule.objects.create(name="Linux rule", priority=1, team=estate.linux)
    due = date(2026, 12, 8)
    # Linux (by rule): resolved in time, resolved late, open not yet due, in progress past due.
    make_item(estate.linux, due, rule=linux_rule, status="resolved", resolved_at=NOON - timedelta(days=5))
    make_item(estate.linux, due, rule=linux_rule, status="resolved", resolved_at=NOON - timedelta(days=1))
    make_item(estate.linux, TODAY + timedelta(days=10), rule=linux_rule)
    make_item(estate.linux, date(2026, 12, 1), rule=linux_rule, status="in_progress")
    # Windows (by hand): open past due, and a risk accepted item counted only in the total.
    make_item(estate.windows, TODAY - timedelta(days=1))
    make_item(estate.windows, date(2026, 12, 1), status="risk_accepted")
    # Unassigned: two unhealthy assessments nobody has; healthy ones do not count.
    resource = make_resource()
    make_assessment(resource, make_recommendation(), "unhealthy")
    make_assessment(resource, make_recommendation(), "unhealthy")
    make_assessment(resource, make_recommendation(), "healthy")


def test_the_governance_report_counts_per_team_and_per_rule(estate):
    report_estate(estate)

    report = governance_report(estate.analyst, ESTATE, today=TODAY)

    figures = {row.label: (row.completed, row.on_time, row.overdue, row.total) for row in report.by_team}
    assert figures == {"Linux": (2, 2, 1, 4), "Windows": (0, 0, 1, 2)}
    by_rule = {row.label: (row.completed, row.on_time, row.overdue, row.total) for row in report.by_rule}
    assert by_rule == {"Linux rule": (2, 2, 1, 4), "Assigned by hand": (0, 0, 1, 2)}
    assert report.unassigned == 2
    assert Assessment.objects.filter(status="unhealthy").count() == 8


def test_the_governance_report_page(estate):
    report_estate(estate)
    with time_machine.travel(NOON, tick=False):
        page = client_for(estate.analyst).get("/governance/report/")
    assert page.status_code == 200
    assert '<strong class="unassigned-count">2</strong>' in page.text
    assert page.context["report"].by_team[0].label == "Linux"
    assert client_for(estate.lin_lead).get("/governance/report/").status_code == 403
