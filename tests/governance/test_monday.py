"""A security team's Monday, scripted: two towers with a lead each, a governance rule per tower, scans
imported; each lead sees exactly the tower's items with the right due dates; a resolved item that the
next scan still finds failing reopens itself."""

import io
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command

from governance.assignments import Change, update_item
from governance.models import Assignment, AssignmentStatus, GovernanceRule, Team
from governance.scoping import visible_assignments
from intake.pipeline import ingest_stream
from tests.scans import baseline_row, scan_baseline, scan_xccdf

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
INVENTORY = b"""resource_id,name,kind,os,subscription,resource_group,tags
onprem:lnx-01,lnx-01,arc_machine,linux,Datacenter,,owner=alice@example.com
onprem:lnx-02,lnx-02,arc_machine,linux,Datacenter,,
onprem:win-01,win-01,arc_machine,windows,Datacenter,,
onprem:win-02,win-02,arc_machine,windows,Datacenter,,
"""


def items_of(user: User) -> set[tuple[str, str]]:
    return {
        (a.assessment.resource.name, a.assessment.recommendation.key)
        for a in visible_assignments(user).select_related(
            "assessment__resource", "assessment__recommendation"
        )
    }


def test_each_lead_sees_exactly_the_towers_items_and_a_resolved_item_still_failing_reopens():
    out = StringIO()
    with time_machine.travel(MONDAY, tick=False):
        # The security team sets up the towers, their leads, and a rule per tower.
        call_command("add_team", "Linux", stdout=out)
        call_command("add_team", "Windows", stdout=out)
        call_command("add_user", "lin-lead", "--role", "tower_lead", "--team", "Linux", stdout=out)
        call_command("add_user", "win-lead", "--role", "tower_lead", "--team", "Windows", stdout=out)
        GovernanceRule.objects.create(
            name="Linux machines",
            priority=10,
            os="linux",
            team=Team.objects.get(name="Linux"),
            timeframe_days=14,
        )
        GovernanceRule.objects.create(
            name="Windows machines",
            priority=20,
            os="windows",
            team=Team.objects.get(name="Windows"),
            owner_tag="owner",
            timeframe_days=30,
        )
        ingest_stream(io.BytesIO(INVENTORY), file_format="inventory")
        # Monday's scans: lnx-01 fails a rule, lnx-02 passes everything, win-01 fails a baseline rule.
        scan_xccdf("lnx-01", {"sshd_disable_root_login": "fail", "audit_enabled": "pass"}, when=MONDAY)
        scan_xccdf("lnx-02", {"sshd_disable_root_login": "pass", "audit_enabled": "pass"}, when=MONDAY)
        scan_baseline(
            [
                baseline_row("win-01", "CCE-37615-2", "Failed", TimeGenerated=MONDAY.isoformat()),
                baseline_row("win-02", "CCE-37615-2", "Passed", TimeGenerated=MONDAY.isoformat()),
            ]
        )

    lin_lead = User.objects.get(username="lin-lead")
    win_lead = User.objects.get(username="win-lead")
    # Each lead sees the tower's unhealthy machine, and nothing of the other tower.
    assert items_of(lin_lead) == {("lnx-01", "machine-config-vulns")}
    assert items_of(win_lead) == {("win-01", "machine-config-vulns")}
    linux_item = Assignment.objects.get(assessment__resource__name="lnx-01")
    windows_item = Assignment.objects.get(assessment__resource__name="win-01")
    # Due dates: first detection (Monday's import) plus the rule's timeframe.
    assert linux_item.due_date == date(2026, 12, 14)
    assert windows_item.due_date == date(2026, 12, 30)
    assert (linux_item.team.name, linux_item.rule.name) == ("Linux", "Linux machines")  # type: ignore[union-attr]
    assert (windows_item.team.name, windows_item.status) == ("Windows", AssignmentStatus.OPEN)  # type: ignore[union-attr]

    # Tuesday the Linux lead marks the item resolved; Wednesday's scan still finds the rule failing.
    with time_machine.travel(MONDAY + timedelta(days=1), tick=False):
        update_item(user=lin_lead, item=linux_item, change=Change(status=AssignmentStatus.RESOLVED))
    linux_item.refresh_from_db()
    assert linux_item.status == AssignmentStatus.RESOLVED
    with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
        scan_xccdf(
            "lnx-01",
            {"sshd_disable_root_login": "fail", "audit_enabled": "pass"},
            when=MONDAY + timedelta(days=2),
        )
    linux_item.refresh_from_db()
    assert linux_item.status == AssignmentStatus.OPEN
    note = linux_item.comments.get(author=None)
    assert note.text == "Reopened: the evidence of 2026-12-02 09:00 UTC still finds it failing."
    # The Windows lead can act on the Windows item only.
    with pytest.raises(Exception, match="you cannot change this item"):
        update_item(user=win_lead, item=linux_item, change=Change(status=AssignmentStatus.IN_PROGRESS))


def test_a_fixed_item_is_resolved_by_the_next_scan():
    with time_machine.travel(MONDAY, tick=False):
        call_command("add_team", "Linux", stdout=StringIO())
        GovernanceRule.objects.create(name="All", priority=1, team=Team.objects.get(name="Linux"))
        ingest_stream(io.BytesIO(INVENTORY), file_format="inventory")
        scan_xccdf("lnx-01", {"sshd_disable_root_login": "fail"}, when=MONDAY)
    item = Assignment.objects.get()
    with time_machine.travel(MONDAY + timedelta(days=3), tick=False):
        scan_xccdf("lnx-01", {"sshd_disable_root_login": "pass"}, when=MONDAY + timedelta(days=3))
    item.refresh_from_db()
    assert item.status == AssignmentStatus.RESOLVED
    assert item.resolved_at == MONDAY + timedelta(days=3)
    assert item.comments.get().text.startswith("Resolved: the evidence of 2026-12-03 09:00 UTC")
