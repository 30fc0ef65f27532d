"""The score over time: snapshots on change or daily, after imports and by beat; the dashboard's charts,
their JSON, tables and CSVs; and what a tower's members see of them."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.celery import app
from governance.models import Assignment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.models import Subscription, SubscriptionGroup
from posture.scope import ESTATE, Scope
from recommendations.models import Assessment, AssessmentStatus
from recommendations.rule_selectors import open_summary
from scoring import charts
from scoring.engine import compute_score
from scoring.history import history, record_snapshot
from scoring.models import ScorePoint
from scoring.tasks import record_snapshot as record_snapshot_task
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
    make_user,
)
from tests.scans import scan_xccdf

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def small_estate() -> None:
    """Production: prod-1 unhealthy, prod-2 healthy for the agent; Staging: stg-1 healthy."""
    production, staging = make_subscription("Production"), make_subscription("Staging")
    make_assessment(make_resource(production, name="prod-1"), "vm-agent-installed", "unhealthy")
    make_assessment(make_resource(production, name="prod-2"), "vm-agent-installed", "healthy")
    make_assessment(make_resource(staging, name="stg-1"), "vm-agent-installed", "healthy")


def heal(name: str) -> None:
    Assessment.objects.filter(resource__name=name).update(status=AssessmentStatus.HEALTHY)


def snapshots() -> list[datetime]:
    return list(ScorePoint.objects.order_by("taken_at").values_list("taken_at", flat=True).distinct())


def json_script(html: str, element_id: str) -> Any:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match is not None, element_id
    return json.loads(match.group(1))


def client_for(role: Role = Role.ANALYST, **fields: Any) -> Client:
    client = Client()
    client.force_login(make_user(f"user-{role}", role=role, **fields))
    return client


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode())))


# Snapshots.


def test_a_snapshot_holds_the_estate_and_each_subscription_with_score_and_control_rows():
    small_estate()
    assert record_snapshot(NOW) is True
    rows = ScorePoint.objects.filter(taken_at=NOW)
    production = Subscription.objects.get(name="Production")
    estate_score = rows.get(subscription=None, control=None)
    report = compute_score(ESTATE)
    assert (estate_score.current, estate_score.max, estate_score.percentage) == (
        report.current,
        report.max,
        report.percentage,
    )
    assert estate_score.weight == 3
    prod_control = rows.get(subscription=production, control__isnull=False)
    assert (prod_control.healthy, prod_control.unhealthy, prod_control.not_applicable) == (1, 1, 0)
    assert prod_control.percentage == Decimal("0.5")
    # The estate and two subscriptions, each with its score and the one assessed control.
    assert rows.count() == 3 * 2


def test_no_snapshot_when_nothing_changed_within_a_day():
    small_estate()
    assert record_snapshot(NOW) is True
    assert record_snapshot(NOW + timedelta(hours=1)) is False
    assert record_snapshot(NOW + timedelta(hours=23, minutes=59)) is False
    assert snapshots() == [NOW]


def test_a_change_takes_a_snapshot_at_once():
    small_estate()
    record_snapshot(NOW)
    heal("prod-1")
    assert record_snapshot(NOW + timedelta(minutes=5)) is True
    assert snapshots() == [NOW, NOW + timedelta(minutes=5)]


def test_an_unchanged_score_is_still_recorded_daily():
    small_estate()
    record_snapshot(NOW)
    assert record_snapshot(NOW + timedelta(days=1)) is True
    assert record_snapshot(NOW + timedelta(days=1, hours=1)) is False
    assert snapshots() == [NOW, NOW + timedelta(days=1)]


def test_the_clock_decides_when_no_moment_is_given():
    small_estate()
    with time_machine.travel(NOW, tick=False):
        assert record_snapshot() is True
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        assert record_snapshot() is False
    with time_machine.travel(NOW + timedelta(days=1, hours=1), tick=False):
        assert record_snapshot() is True
    assert snapshots() == [NOW, NOW + timedelta(days=1, hours=1)]


def test_an_import_records_a_snapshot_only_when_it_moves_the_score():
    make_resource(make_subscription("Production"), name="web-1")
    with time_machine.travel(NOW, tick=False):
        scan_xccdf("web-1", {"sshd_disable_root_login": "fail"}, when=NOW)
    assert snapshots() == [NOW]
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        # The same result again: the score did not move.
        scan_xccdf("web-1", {"sshd_disable_root_login": "fail"}, when=NOW + timedelta(hours=1))
    assert snapshots() == [NOW]
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        scan_xccdf("web-1", {"sshd_disable_root_login": "pass"}, when=NOW + timedelta(hours=2))
    assert snapshots() == [NOW, NOW + timedelta(hours=2)]
    trend = history(ESTATE, 7, now=NOW + timedelta(hours=2))
    assert trend is not None
    assert trend.score.values == [0.0, 100.0]


def test_beat_records_a_snapshot_every_hour(monkeypatch):
    entry = settings.CELERY_BEAT_SCHEDULE["score-snapshot"]
    assert entry == {"task": "scoring.tasks.record_snapshot", "schedule": 3600}
    assert entry["task"] in app.tasks
    small_estate()
    # In-process, so the controlled clock applies (on the PostgreSQL pass no worker serves this test).
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with time_machine.travel(NOW, tick=False):
        assert record_snapshot_task.delay().get(timeout=30) is True
        assert record_snapshot_task.delay().get(timeout=30) is False


# History.


def test_history_gives_the_score_and_each_control_of_the_estate_or_one_subscription():
    small_estate()
    record_snapshot(NOW - timedelta(days=10))
    heal("prod-1")
    record_snapshot(NOW - timedelta(days=2))
    production = Subscription.objects.get(name="Production")

    estate = history(ESTATE, 30, now=NOW)
    assert estate is not None
    assert estate.moments == [NOW - timedelta(days=10), NOW - timedelta(days=2)]
    # Estate: weights 2 and 1; Production 50 % then 100 %, Staging 100 %.
    assert estate.score.values == [66.67, 100.0]
    # A control across subscriptions sums their points: (2 + 4) / (4 + 4), then all of them.
    controls = [(series.name, series.values) for series in estate.controls]
    assert controls == [("Remediate security configurations", [75.0, 100.0])]

    one = history(Scope(subscription_ids=(production.pk,), label="Production"), 7, now=NOW)
    assert one is not None
    assert one.moments == [NOW - timedelta(days=2)]
    assert one.score.values == [100.0]


def test_history_is_one_query_however_many_snapshots():
    small_estate()
    for days_ago in (8, 6, 4, 2, 0):
        assert record_snapshot(NOW - timedelta(days=days_ago)) is True
    with CaptureQueriesContext(connection) as queries:
        trend = history(ESTATE, 30, now=NOW)
    assert len(queries) == 1
    assert trend is not None
    assert len(trend.moments) == 5


def test_a_control_assessed_later_has_no_value_before():
    small_estate()
    record_snapshot(NOW - timedelta(days=1))
    rec = make_recommendation("late-rec")
    make_control("Late control", 3, [rec])
    make_assessment(make_resource(make_subscription("Other"), name="o-1"), rec, "unhealthy")
    record_snapshot(NOW)
    trend = history(ESTATE, 7, now=NOW)
    assert trend is not None
    late = next(s for s in trend.controls if s.name == "Late control")
    assert late.values == [None, 0.0]


def test_there_is_no_history_for_a_group_or_for_what_a_tower_sees():
    small_estate()
    record_snapshot(NOW)
    ids = tuple(Subscription.objects.values_list("pk", flat=True))
    assert history(Scope(subscription_ids=ids, parameter="group:both"), 7, now=NOW) is None
    tower = Scope(resources=Subscription.objects.none().values("pk"))  # type: ignore[arg-type]
    assert history(tower, 7, now=NOW) is None


# The dashboard's charts.


def test_the_dashboard_carries_the_trend_as_json_with_a_period_selector():
    small_estate()
    with time_machine.travel(NOW - timedelta(days=20), tick=False):
        record_snapshot()
    heal("prod-1")
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        record_snapshot()
    client = client_for()
    with time_machine.travel(NOW, tick=False):
        month = client.get("/").content.decode()
        week = client.get("/?days=7").content.decode()
        production = client.get("/?subscription=Production&days=90").content.decode()
    chart = json_script(month, "trend-data")
    assert chart["labels"] == ["2026-11-08 08:00", "2026-11-25 08:00"]
    score = chart["datasets"][0]
    assert (score["label"], score["data"], score["score"]) == ("Secure score", [66.67, 100.0], True)
    assert json_script(week, "trend-data")["labels"] == ["2026-11-25 08:00"]
    assert json_script(production, "trend-data")["datasets"][0]["data"] == [50.0, 100.0]
    # The period is a link per choice, the chosen one marked, the scope kept.
    assert 'href="/?subscription=Production&amp;days=7"' in production
    assert 'href="/?subscription=Production&amp;days=90" aria-current="page"' in production
    # The table view of the same data.
    assert '<th scope="row">2026-11-25 08:00</th>' in month


def test_an_unknown_period_is_a_bad_filter():
    response = client_for().get("/?days=5")
    assert response.status_code == 400
    assert "Days must be one of 7, 30, 90." in response.content.decode()
    assert client_for(Role.VIEWER).get(reverse("chart-score-trend-csv") + "?days=x").status_code == 400


def test_the_dashboard_says_when_no_snapshot_exists_yet():
    html = client_for().get("/").content.decode()
    empty = {"labels": [], "datasets": [{"label": "Secure score", "data": [], "score": True}]}
    assert json_script(html, "trend-data") == empty
    assert "No score snapshot in the last 30 days yet" in html
    assert 'id="trend-chart"' not in html


def scanned_estate() -> None:
    production = make_subscription("Production")
    make_resource(production, name="web-1")
    make_resource(production, name="win-1", os="windows")
    scan_xccdf(
        "web-1",
        {"sshd_disable_root_login": "fail", "audit_enabled": "fail", "banner": "pass"},
        severities={"sshd_disable_root_login": "high"},
    )


def test_the_failed_rules_chart_counts_open_findings_by_severity_and_os():
    scanned_estate()
    html = client_for().get("/").content.decode()
    # One chart per dimension: severity and OS never share an axis.
    by_severity = json_script(html, "failed-rules-severity-data")
    assert by_severity["labels"] == ["High", "Medium"]
    assert by_severity["datasets"] == [{"label": "Failed rules by severity", "data": [1, 1]}]
    assert by_severity["summary"] == "High 1, Medium 1"
    by_os = json_script(html, "failed-rules-os-data")
    assert (by_os["labels"], by_os["datasets"]) == (["Linux"], [{"label": "Failed rules by OS", "data": [2]}])
    bars = charts.failed_rule_bars(open_summary(ESTATE))
    assert [(bar.group, bar.name, bar.failed, bar.machines) for bar in bars] == [
        ("Severity", "High", 1, 1),
        ("Severity", "Medium", 1, 1),
        ("OS", "Linux", 2, 1),
    ]
    assert 'id="failed-rules-severity-chart"' in html
    assert 'id="failed-rules-os-chart"' in html
    assert 'aria-label="Failed OS-configuration rules by severity: High 1, Medium 1"' in html
    assert "<summary>Table of failed rules</summary>" in html


def test_the_top_recommendations_chart_ranks_by_potential_increase():
    small_estate()
    prod = Subscription.objects.get(name="Production")
    make_assessment(make_resource(prod, name="prod-3"), "machine-config-vulns", "unhealthy")
    html = client_for().get("/?subscription=Production").content.decode()
    chart = json_script(html, "top-recommendations-data")
    report = compute_score(Scope(subscription_ids=(prod.pk,), label="Production"))
    expected = sorted(
        (
            (rec.name, float(rec.potential_increase))
            for control in report.controls
            for rec in control.recommendations
            if rec.potential_increase > 0
        ),
        key=lambda pair: (-pair[1], pair[0]),
    )
    assert len(expected) == 2
    assert list(zip(chart["labels"], chart["datasets"][0]["data"], strict=True)) == expected
    assert "<summary>Table of top recommendations</summary>" in html


# The CSVs.


def test_the_trend_csv_has_a_row_per_snapshot_and_a_column_per_series():
    small_estate()
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        record_snapshot()
    with time_machine.travel(NOW, tick=False):
        response = client_for().get(reverse("chart-score-trend-csv") + "?subscription=Production&days=7")
    rows = read_csv(response)
    header, first = rows
    assert header[:2] == ["Taken at", "Secure score %"]
    assert header[2:] == ["Remediate security configurations %"]
    assert first == ["2026-11-27 08:00", "50.0", "50.0"]


def test_the_failed_rules_and_top_recommendations_csvs_hold_the_charts_figures():
    scanned_estate()
    client = client_for()
    assert read_csv(client.get(reverse("chart-failed-rules-csv"))) == [
        ["Group", "Name", "Failed rules", "Machines"],
        ["Severity", "High", "1", "1"],
        ["Severity", "Medium", "1", "1"],
        ["OS", "Linux", "2", "1"],
    ]
    rows = read_csv(client.get(reverse("chart-top-recommendations-csv")))
    assert rows[0] == ["Recommendation", "Control", "Potential score increase", "Unhealthy resources"]
    assert len(rows) > 1
    assert all(Decimal(row[2]) > 0 for row in rows[1:])


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(name: str):
    rec = make_recommendation("formula-rec", display_name=name)
    make_control(name, 5, [rec])
    make_assessment(make_resource(make_subscription("Production"), name="p-1"), rec, "unhealthy")
    record_snapshot(NOW)
    client = client_for()
    with time_machine.travel(NOW, tick=False):
        trend = read_csv(client.get(reverse("chart-score-trend-csv")))
    assert f"'{name} %" in trend[0]
    top = read_csv(client.get(reverse("chart-top-recommendations-csv")))
    assert top[1][:2] == [f"'{name}", f"'{name}"]


# Scoping.


@pytest.fixture
def tower_member() -> Client:
    small_estate()
    team = Team.objects.create(name="Tower A")
    prod_1 = Assessment.objects.get(resource__name="prod-1")
    created = Assignment.objects.create(assessment=prod_1, team=team, first_detected=NOW, due_date=NOW.date())
    refresh_tower_summaries([created.assessment.resource_id])
    scan_xccdf("prod-1", {"sshd_disable_root_login": "fail"})
    # The agent and the scan keep prod-1 unhealthy together in their control; this alone in its own.
    rec = make_recommendation("tower-rec", display_name="Tower recommendation")
    make_control("Tower control", 5, [rec])
    make_assessment(prod_1.resource, rec, "unhealthy")
    make_assessment(make_resource(Subscription.objects.get(name="Staging"), name="stg-2"), rec, "unhealthy")
    scan_xccdf("stg-1", {"sshd_disable_root_login": "fail", "audit_enabled": "fail"})
    record_snapshot(NOW)
    client = Client()
    client.force_login(make_user("member-a", role=Role.MEMBER, team=team))
    return client


def test_a_tower_member_sees_no_trend_but_the_towers_current_charts(tower_member: Client):
    html = tower_member.get("/").content.decode()
    assert json_script(html, "trend-data") is None
    assert "kept for whole subscriptions, not for your tower" in html
    assert 'id="trend-chart"' not in html
    # prod-1's one failed rule, not stg-1's two.
    failed = json_script(html, "failed-rules-severity-data")
    assert (failed["labels"], failed["datasets"][0]["data"]) == (["Medium"], [1])
    failed_by_os = json_script(html, "failed-rules-os-data")
    assert (failed_by_os["labels"], failed_by_os["datasets"][0]["data"]) == (["Linux"], [1])
    top = json_script(html, "top-recommendations-data")
    # Its five points in the tower's scope, which holds prod-1 and not stg-2.
    assert (top["labels"], top["datasets"][0]["data"]) == (["Tower recommendation"], [5.0])
    # No trend is kept for a tower's view: the CSV says so instead of an empty file.
    response = tower_member.get(reverse("chart-score-trend-csv"))
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "not for your tower's resources" in response.content.decode()
    # The dashboard says whose resources it covers, not "All subscriptions".
    assert "Your tower Tower A: its resources in every subscription" in html
    assert "All subscriptions</p>" not in html
    assert "CSV of the trend" not in html  # no link to a file it cannot have
    assert read_csv(tower_member.get(reverse("chart-failed-rules-csv")))[1:] == [
        ["Severity", "Medium", "1", "1"],
        ["OS", "Linux", "1", "1"],
    ]


def test_a_group_shows_no_trend_and_says_why():
    small_estate()
    record_snapshot(NOW)
    group = SubscriptionGroup.objects.create(name="Both")
    group.subscriptions.set(Subscription.objects.all())
    client = client_for()
    html = client.get("/?subscription=group:Both").content.decode()
    assert json_script(html, "trend-data") is None
    assert "not for a group" in html
    response = client.get(reverse("chart-score-trend-csv"), {"subscription": "group:Both"})
    assert response.status_code == 404
    assert "choose one subscription to export its trend" in response.content.decode()
