"""Time of evidence: due dates count from the first evidence (a scan's end time, Defender's dates), not
from the import, and score snapshots are stamped with the evidence time, so importing old scans draws
the history they describe.

The scan is a genuine OpenSCAP 1.3.7 ARF (`../shared/data/oscap/debian-anssi-high.arf.xml.xz`, see
../shared/README.md): its TestResult ended at 2026-11-28T18:44:31+00:00 with 2 failed rules. The
Defender records are the project's fixture `tests/fixtures/defender/arg-assessments.json` with their
dates edited per test (said where)."""

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from governance.assignments import assign
from governance.models import Assignment, GovernanceRule, Team
from governance.roles import Role
from intake.pipeline import ingest_file, ingest_files, ingest_stream
from posture.models import Resource
from recommendations.models import Assessment, Finding
from scoring.history import record_snapshot
from scoring.models import ScorePoint
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import scan_xccdf
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_ARF = ROOT.parent / "shared" / "data" / "oscap" / "debian-anssi-high.arf.xml.xz"
DEBIAN_SCAN_END = datetime(2026, 11, 28, 18, 44, 31, tzinfo=UTC)
EXPORT = ROOT / "tests" / "fixtures" / "defender" / "arg-assessments.json"
IMPORTED = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def snapshot_times() -> list[datetime]:
    return list(ScorePoint.objects.order_by("taken_at").values_list("taken_at", flat=True).distinct())


@pytest.fixture
def machine_and_rule() -> tuple[Resource, Team]:
    machine = make_resource(make_subscription("Production"), name="debian-12")
    linux = Team.objects.create(name="Linux")
    GovernanceRule.objects.create(name="Linux", priority=1, team=linux, timeframe_days=7)
    return machine, linux


def test_a_scans_item_is_due_from_the_scans_end_time_not_from_the_import(machine_and_rule):
    machine, linux = machine_and_rule
    with time_machine.travel(IMPORTED, tick=False):
        ingest_file(DEBIAN_ARF, resource=machine.resource_id)
    assessment = Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns")
    assert assessment.status == "unhealthy"
    assert assessment.status_changed == DEBIAN_SCAN_END
    item = Assignment.objects.get(assessment=assessment)
    assert item.team == linux
    assert item.first_detected == DEBIAN_SCAN_END
    # Seven days after the scan, five days before the import: overdue the moment it is imported.
    assert item.due_date == date(2026, 12, 5)


def test_a_failed_rule_assigned_by_hand_is_due_from_the_first_scan_that_found_it(machine_and_rule):
    machine, linux = machine_and_rule
    with time_machine.travel(IMPORTED, tick=False):
        ingest_file(DEBIAN_ARF, resource=machine.resource_id)
        finding = Finding.objects.filter(resource=machine, state="open").order_by("pk").first()
        assert finding is not None
        assert finding.first_seen == DEBIAN_SCAN_END
        analyst = make_user("analyst", role=Role.ANALYST)
        item = assign(
            user=analyst,
            assessment=Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns"),
            team=linux,
            finding=finding,
        )
    assert item.first_detected == DEBIAN_SCAN_END
    assert item.due_date == date(2026, 12, 28)  # the manual default, 30 days, from the scan


def test_a_later_scan_that_still_fails_keeps_the_first_evidence_time(machine_and_rule):
    machine, _ = machine_and_rule
    first = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    with time_machine.travel(IMPORTED, tick=False):
        scan_xccdf("debian-12", {"sshd_disable_root_login": "fail"}, when=first)
        scan_xccdf("debian-12", {"sshd_disable_root_login": "fail"}, when=first + timedelta(days=5))
    item = Assignment.objects.get(assessment__resource=machine)
    assert item.first_detected == first
    assert item.due_date == date(2026, 11, 27)


def test_a_scan_dated_in_the_future_counts_from_the_import():
    machine = make_resource(name="skewed")
    with time_machine.travel(IMPORTED, tick=False):
        scan_xccdf("skewed", {"sshd_disable_root_login": "fail"}, when=IMPORTED + timedelta(days=3))
    assessment = Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns")
    assert assessment.status_changed == IMPORTED
    assert snapshot_times() == [IMPORTED]


def defender_export(**status: Any) -> bytes:
    """The fixture's second record (Unhealthy, web-01), its status dates replaced (None drops one)."""
    document = json.loads(EXPORT.read_text())
    record = document["data"][1]
    for name, value in status.items():
        if value is None:
            record["properties"]["status"].pop(name, None)
        else:
            record["properties"]["status"][name] = value
    document["data"], document["count"] = [record], 1
    return json.dumps(document).encode()


def web_01_assessment() -> Assessment:
    return Assessment.objects.get(resource__name="web-01", recommendation__key="machine-config-vulns")


def test_defenders_status_change_date_dates_an_unhealthy_status():
    with time_machine.travel(IMPORTED, tick=False):
        ingest_stream(io.BytesIO(defender_export()), file_format="defender")
    # The fixture's statusChangeDate.
    assert web_01_assessment().status_changed == datetime(2026, 11, 20, 17, 40, 11, 287000, tzinfo=UTC)


def test_without_a_status_change_date_defenders_first_evaluation_dates_a_new_assessment():
    with time_machine.travel(IMPORTED, tick=False):
        ingest_stream(io.BytesIO(defender_export(statusChangeDate=None)), file_format="defender")
    assert web_01_assessment().status_changed == datetime(2026, 11, 2, 9, 14, 3, 113000, tzinfo=UTC)


def test_without_any_date_the_import_dates_it():
    with time_machine.travel(IMPORTED, tick=False):
        export = defender_export(statusChangeDate=None, firstEvaluationDate=None)
        ingest_stream(io.BytesIO(export), file_format="defender")
    assert web_01_assessment().status_changed == IMPORTED


# Snapshots stamped with the evidence time.


def test_importing_old_scans_one_run_each_draws_the_history_they_describe():
    make_resource(make_subscription("Production"), name="web-1")
    week_one, week_two = datetime(2026, 11, 13, 6, 0, tzinfo=UTC), datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    with time_machine.travel(IMPORTED, tick=False):
        scan_xccdf("web-1", {"sshd_disable_root_login": "fail", "audit_rules": "fail"}, when=week_one)
        scan_xccdf("web-1", {"sshd_disable_root_login": "pass", "audit_rules": "pass"}, when=week_two)
    assert snapshot_times() == [week_one, week_two]
    estate = ScorePoint.objects.filter(subscription=None, control=None).order_by("taken_at")
    assert [float(point.percentage) for point in estate] == [0.0, 1.0]


def test_a_run_of_several_files_is_stamped_with_its_newest_evidence(tmp_path):
    make_resource(make_subscription("Production"), name="web-1")
    older = tmp_path / "web-1.xml"
    older.write_bytes(
        xccdf_result(
            host="web-1",
            results={"sshd_disable_root_login": "fail"},
            when=DEBIAN_SCAN_END - timedelta(days=3),
        )
    )
    with time_machine.travel(IMPORTED, tick=False):
        results = ingest_files([DEBIAN_ARF, older])  # the ARF discovers its machine "vm"
    assert [result.status for result in results] == ["imported", "imported"]
    assert snapshot_times() == [DEBIAN_SCAN_END]


def test_evidence_older_than_the_last_snapshot_is_stamped_now():
    make_resource(make_subscription("Production"), name="web-1")
    make_resource(make_subscription("Staging"), name="stg-1")
    with time_machine.travel(IMPORTED, tick=False):
        assert record_snapshot() is True
    later = IMPORTED + timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        # A scan of a week ago arrives after the hourly snapshot: the estate is now what it says and
        # the history only moves forward.
        scan_xccdf("stg-1", {"sshd_disable_root_login": "fail"}, when=IMPORTED - timedelta(days=7))
    assert snapshot_times() == [IMPORTED, later]


def test_a_run_without_timed_evidence_is_stamped_now():
    with time_machine.travel(IMPORTED, tick=False):
        ingest_file(ROOT / "tests" / "fixtures" / "inventory" / "estate.csv")
    assert snapshot_times() == [IMPORTED]
