"""The demo estate: every recommendation with every status it can take, and idempotent."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from intake.demo import BASE_TIME, load_demo
from posture.models import Resource, ResourceKind, Subscription
from posture.scope import scope_for
from recommendations.cloud_finding_selectors import scope_other_findings
from recommendations.models import Assessment, AssessmentStatus, Benchmark, Finding, Recommendation, Rule
from scoring.engine import compute_score
from scoring.models import ScorePoint
from tests.db_state import database_state

pytestmark = pytest.mark.django_db


def test_demo_exercises_every_recommendation_and_status():
    load_demo()
    seen = set(Assessment.objects.values_list("recommendation__key", "status").distinct())
    for key in Recommendation.objects.values_list("key", flat=True):
        statuses = {status for rec, status in seen if rec == key}
        assert AssessmentStatus.HEALTHY in statuses, key
        assert AssessmentStatus.UNHEALTHY in statuses, key
    assert {status for _, status in seen} == set(AssessmentStatus.values)
    assert set(Resource.objects.values_list("kind", flat=True)) == set(ResourceKind.values)
    assert Assessment.objects.filter(cause="OffByPolicy").exists()
    report = compute_score()
    assert 0 < report.current < report.max


def test_loading_the_demo_twice_changes_nothing():
    # The demo's heartbeats are relative to the load: at the same moment, a second load changes nothing.
    with time_machine.travel(datetime(2026, 11, 28, 9, 30, tzinfo=UTC), tick=False):
        load_demo()
        before = database_state()
        second = load_demo()
    clouds = Resource.objects.filter(subscription__cloud__in=["aws", "gcp"])
    assert second["inventory"]["resources_unchanged"] == Resource.objects.count() - clouds.count()
    assert (
        second["aws ec2"]["resources_unchanged"] + second["gcloud"]["resources_unchanged"] == clouds.count()
    )
    defender = second["defender"]
    assert defender["assessments_created"] == defender["assessments_changed"] == 0
    assert defender["assessments_unchanged"] + defender["kept_own_evidence"] > 0
    assert second["os configuration"]["scans"] == 0
    assert database_state() == before


def test_the_demo_shows_each_agent_problem_an_inventory_can_show():
    load_demo()
    health = dict(
        Assessment.objects.filter(recommendation__key="agent-health-resolved").values_list(
            "resource__name", "reason"
        )
    )
    assert health["prod-db-01"] == "Power state off (stopped)"
    assert health["prod-app-05"].startswith("Agent not responsive or missing ID (last heartbeat ")
    assert health["prod-db-07"] == (
        "Agent connected to missing or unknown workspace ('ws-legacy' is not a registered workspace)"
    )
    assert health["prod-db-10"] == "Pending agent installation"
    assert health["prod-db-13"] == "Installation failed - general error"
    assert health["prod-web-00"] == ""
    scale_sets = dict(
        Assessment.objects.filter(recommendation__key="vmss-agent-installed").values_list(
            "resource__name", "reason"
        )
    )
    assert scale_sets["prod-workers"] == "1 of 3 instances lacks the monitoring agent (1 agent not installed)"
    # London's machines without an agent are pending through auto-provisioning.
    arc = Assessment.objects.get(
        recommendation__key="arc-windows-agent-installed", resource__name="lon-win-03"
    )
    assert (arc.status, arc.reason) == (AssessmentStatus.UNHEALTHY, "Pending agent installation")
    # A recommendation disabled in policy stays disabled whatever the evidence says.
    off = Assessment.objects.get(recommendation__key="arc-linux-agent-installed", resource__name="lon-lnx-06")
    assert (off.status, off.cause) == (AssessmentStatus.NOT_APPLICABLE, "OffByPolicy")


def test_every_failed_rule_of_the_demo_says_what_was_expected_and_found():
    load_demo()
    failed = Finding.objects.filter(state="open").select_related("rule", "resource")
    linux = [f for f in failed if f.resource.os == "linux"]
    assert linux
    assert all(f.expected and f.actual for f in failed), [f for f in failed if not (f.expected and f.actual)][
        :3
    ]
    shadow = next(f for f in linux if f.rule.key == "CCE-83941-5")
    assert (shadow.expected, shadow.actual) == ("Required: mode 0000", "mode 0640")


def test_the_demo_is_a_mixed_estate_scored_per_scope_and_in_total():
    load_demo()
    clouds = dict(Subscription.objects.values_list("name", "cloud"))
    assert clouds["Production"] == clouds["Staging"] == "azure"
    assert clouds["111122223333"] == "aws"
    assert clouds["analytics-prod-4821"] == "gcp"
    labels = {r.cloud_label for r in Resource.objects.select_related("subscription")}
    assert labels == {"Azure", "AWS", "GCP", "On-premises"}
    # The AWS machine a scan found first left "Discovered" for its account, with its scans.
    moved = Resource.objects.get(name="aws-api-01")
    assert moved.subscription.name == "111122223333"
    assert moved.scans.exists()
    assert not Resource.objects.filter(subscription__name="Discovered").exists()
    total = compute_score()
    by_scope = {s.name: s for s in total.subscriptions}
    for name in ("Production", "111122223333", "analytics-prod-4821", "Datacenter London"):
        assert by_scope[name].max > 0, name
        assert compute_score(scope_for(name)).percentage == by_scope[name].percentage
    assert compute_score(scope_for("aws:111122223333")).current == by_scope["111122223333"].current
    # AWS and GCP machines count in the OS configuration recommendation, as Defender counts them.
    counted = Assessment.objects.filter(
        recommendation__key="machine-config-vulns", resource__subscription__cloud__in=["aws", "gcp"]
    ).exclude(status=AssessmentStatus.NOT_APPLICABLE)
    assert counted.count() >= 5


def test_the_demo_shows_cloud_findings_as_evidence_and_as_other_findings():
    load_demo()
    batch = Assessment.objects.filter(resource__name="aws-batch-01").select_related("recommendation")
    statuses = {a.recommendation.key: (a.status, a.source) for a in batch}
    assert statuses["machine-config-vulns"] == (AssessmentStatus.UNHEALTHY, "cloud_findings")
    assert statuses["arc-linux-agent-installed"] == (AssessmentStatus.UNHEALTHY, "cloud_findings")
    other = scope_other_findings(scope_for("gcp:analytics-prod-4821"))
    assert other is not None
    assert other.total == 3


def test_the_demo_draws_the_history_its_scans_describe():
    # Each of its two runs is stamped with its newest evidence: the week-old scans, then today's.
    with time_machine.travel(datetime(2026, 12, 4, 9, 0, tzinfo=UTC), tick=False):
        load_demo()
    moments = list(
        ScorePoint.objects.filter(subscription=None, control=None)
        .order_by("taken_at")
        .values_list("taken_at", flat=True)
    )
    assert moments == [BASE_TIME - timedelta(days=7), BASE_TIME]


def test_the_demo_content_declares_its_platform():
    # The OS of rules and machines comes from the content's CPE platform, never from a title: a demo
    # benchmark without one drew every failed rule as "Unknown" in the charts.
    load_demo()
    assert not Rule.objects.filter(os="").exists()
    assert Benchmark.objects.get(title__startswith="Posture demo").platform == "Red Hat Enterprise Linux 9"
