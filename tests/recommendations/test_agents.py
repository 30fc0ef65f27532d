"""The monitoring-agent recommendations: every status and reason, staleness moved by the clock alone,
auto-provisioning, and which evidence an inventory may overwrite."""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from config.celery import app as celery_app
from intake.agents import record_heartbeat, register_workspace, set_auto_provisioning
from intake.pipeline import ingest_file, ingest_stream
from posture.agents import Heartbeat, issue_token
from posture.models import EnrollmentToken, Resource, Subscription, Workspace
from recommendations.evaluators.agents import evaluate_agents, evaluate_all_agents
from recommendations.models import Assessment
from recommendations.tasks import evaluate_agents as evaluate_agents_task
from scoring.engine import compute_score
from tests.db_state import database_state
from tests.factories import make_resource, make_subscription

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ESTATE = FIXTURES / "inventory" / "estate.csv"
VM = "vm-agent-installed"
SCALE_SET = "vmss-agent-installed"
ARC_LINUX = "arc-linux-agent-installed"
ARC_WINDOWS = "arc-windows-agent-installed"
HEALTH = "agent-health-resolved"
AGENT_KEYS = {VM, SCALE_SET, ARC_LINUX, ARC_WINDOWS, HEALTH}
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
HEALTHY = ("healthy", "")
NO_DATA = ("not_applicable", "No agent data available for the machine")
NO_INSTANCE_DATA = ("not_applicable", "No agent data available for the scale set or its instances")
NOT_INSTALLED = ("unhealthy", "Agent not installed")
PENDING = ("unhealthy", "Pending agent installation")
INVENTORY_HEADER = "resource_id,name,kind,os,subscription"
AGENT_HEADER = f"{INVENTORY_HEADER},agent,agent_version,workspace_id,last_heartbeat"
DEFENDER_SUBSCRIPTION = "3f2a9c1e-0000-4000-8000-00000000a001"
AZURE_VM = (
    f"/subscriptions/{DEFENDER_SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines"
)
# Defender's assessment key and display name of the recommendations an export carries here.
DEFENDER_NAMES = {
    VM: (
        "d1db3318-01ff-16de-29eb-28b344515626",
        "Log Analytics agent should be installed on your virtual machines",
    ),
    HEALTH: (
        "d62cfe2b-3ab0-4d41-980d-76803b58ca65",
        "Log Analytics agent health issues should be resolved on your machines",
    ),
}


def status(resource: Resource, key: str) -> tuple[str, str]:
    assessment = Assessment.objects.get(resource=resource, recommendation__key=key)
    return assessment.status, assessment.reason


def source(resource: Resource, key: str) -> str:
    return Assessment.objects.get(resource=resource, recommendation__key=key).source


def agent_keys(resource: Resource) -> set[str]:
    return set(
        Assessment.objects.filter(resource=resource, recommendation__key__in=AGENT_KEYS).values_list(
            "recommendation__key", flat=True
        )
    )


def machine(**fields: Any) -> Resource:
    """A VM an inventory described: agent installed, reporting to ws-prod an hour before NOW."""
    values: dict[str, Any] = {
        "agent_state": "installed",
        "agent_evidence": "inventory",
        "agent_version": "1.19.0",
        "workspace_id": "ws-prod",
        "last_heartbeat": NOW - timedelta(hours=1),
    }
    values.update(fields)
    return make_resource(**values)


def evaluated(resource: Resource) -> Resource:
    evaluate_agents([resource.pk], now=NOW)
    return resource


def ingest_inventory(text: str) -> dict[str, int]:
    return ingest_stream(io.BytesIO(text.encode()), file_format="inventory")


def defender_record(resource_id: str, key: str, code: str, *, cause: str = "", description: str = "") -> dict:
    """One assessment as Azure Resource Graph exports it."""
    assessment_key, display_name = DEFENDER_NAMES[key]
    return {
        "name": assessment_key,
        "type": "microsoft.security/assessments",
        "subscriptionId": DEFENDER_SUBSCRIPTION,
        "properties": {
            "displayName": display_name,
            "resourceDetails": {"Source": "Azure", "Id": resource_id},
            "status": {"code": code, "cause": cause, "description": description},
        },
    }


def ingest_defender(*records: dict) -> dict[str, int]:
    return ingest_stream(io.BytesIO(json.dumps({"data": list(records)}).encode()), file_format="defender")


def beat(token: EnrollmentToken, hostname: str, *, error: str = "") -> Resource:
    """What the heartbeat API does with an agent's heartbeat."""
    resource, _ = record_heartbeat(
        token=token, heartbeat=Heartbeat(agent_version="1.0.0", os="linux", hostname=hostname, error=error)
    )
    return resource


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.objects.create(name="Production", workspace_id="ws-prod")


@pytest.fixture
def token(workspace: Workspace) -> EnrollmentToken:
    return issue_token(workspace=workspace).record


@pytest.fixture
def eager_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tasks, as on the SQLite pass, whatever REDIS_URL says."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


# --- Agent installed on VMs and agent health -------------------------------------------------------


def test_a_reporting_agent_is_healthy_in_both_recommendations(workspace):
    vm = evaluated(machine())
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == HEALTHY
    assert source(vm, VM) == source(vm, HEALTH) == "agent_evidence"
    assert agent_keys(vm) == {VM, HEALTH}


def test_a_machine_nobody_said_anything_about_is_not_applicable_without_evidence(workspace):
    vm = evaluated(make_resource())
    assert status(vm, VM) == NO_DATA
    assert status(vm, HEALTH) == NO_DATA
    assert source(vm, VM) == source(vm, HEALTH) == "agent_no_data"


# (agent fields, agent installed, agent health)
MISSING_AGENTS = [
    (
        "not installed",
        {"agent_state": "not_installed"},
        NOT_INSTALLED,
        ("not_applicable", "Agent not installed"),
    ),
    ("pending", {"agent_state": "pending"}, PENDING, PENDING),
    (
        "installation failed",
        {"agent_state": "install_failed"},
        ("unhealthy", "Installation failed - general error"),
        ("unhealthy", "Installation failed - general error"),
    ),
    (
        "installation failed with a general error",
        {"agent_state": "install_failed", "agent_error": "install_failed"},
        ("unhealthy", "Installation failed - general error"),
        ("unhealthy", "Installation failed - general error"),
    ),
    (
        "installation failed because another agent is there",
        {"agent_state": "install_failed", "agent_error": "local_agent_already_installed"},
        ("unhealthy", "Installation failed - local agent already installed"),
        ("unhealthy", "Installation failed - local agent already installed"),
    ),
    (
        "missing VM agent",
        {"agent_state": "not_installed", "agent_error": "missing_vm_agent"},
        ("unhealthy", "Missing or invalid Azure VM agent"),
        ("not_applicable", "Agent not installed"),
    ),
    (
        "installation failed for want of a VM agent",
        {"agent_state": "install_failed", "agent_error": "missing_vm_agent"},
        ("unhealthy", "Missing or invalid Azure VM agent"),
        ("unhealthy", "Missing or invalid Azure VM agent"),
    ),
    (
        "VM not ready",
        {"agent_state": "not_installed", "agent_error": "vm_not_ready"},
        ("unhealthy", "VM state not ready for installation"),
        ("not_applicable", "Agent not installed"),
    ),
    (
        "installation failed on a VM not ready",
        {"agent_state": "install_failed", "agent_error": "vm_not_ready"},
        ("unhealthy", "VM state not ready for installation"),
        ("unhealthy", "VM state not ready for installation"),
    ),
]


@pytest.mark.parametrize(
    ("case", "fields", "installed", "health"), MISSING_AGENTS, ids=[case[0] for case in MISSING_AGENTS]
)
def test_a_machine_without_a_working_agent_says_why(workspace, case, fields, installed, health):
    vm = evaluated(machine(**fields))
    assert status(vm, VM) == installed
    assert status(vm, HEALTH) == health
    # Every one of these is evidence, so it is stored as such (a Not applicable included).
    assert source(vm, VM) == source(vm, HEALTH) == "agent_evidence"


@pytest.mark.parametrize("power_state", ["stopped", "deallocated"])
def test_a_machine_that_is_off_has_a_healthy_install_and_a_power_state_problem(workspace, power_state):
    vm = evaluated(machine(power_state=power_state))
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == ("unhealthy", f"Power state off ({power_state})")


def test_being_off_explains_everything_after_it_even_a_pending_installation(workspace):
    vm = evaluated(machine(power_state="stopped", agent_state="pending", last_heartbeat=None))
    assert status(vm, VM) == PENDING
    assert status(vm, HEALTH) == ("unhealthy", "Power state off (stopped)")


def test_an_agent_naming_no_workspace_reports_to_an_unknown_one(workspace):
    vm = evaluated(machine(workspace_id=""))
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent connected to missing or unknown workspace (the agent names no workspace)",
    )


def test_an_agent_reporting_to_an_unregistered_workspace_is_healthy_once_it_is_registered(workspace):
    vm = evaluated(machine(workspace_id="ws-legacy"))
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent connected to missing or unknown workspace ('ws-legacy' is not a registered workspace)",
    )
    with time_machine.travel(NOW, tick=False):
        register_workspace(workspace_id="ws-legacy", name="Legacy")
    assert status(vm, HEALTH) == HEALTHY


def test_an_agent_that_cannot_connect_says_so(workspace):
    vm = evaluated(machine(agent_error="cannot_connect"))
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == ("unhealthy", "Agent cannot connect to workspace")


def test_an_installed_agent_that_never_sent_a_heartbeat_is_not_responsive(workspace):
    vm = evaluated(machine(last_heartbeat=None))
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == ("unhealthy", "Agent not responsive or missing ID (no heartbeat received)")


def test_a_heartbeat_older_than_the_threshold_is_stale_and_says_when(workspace):
    vm = evaluated(machine(last_heartbeat=NOW - timedelta(hours=25, minutes=30)))
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent not responsive or missing ID (last heartbeat 2026-11-27 06:30 UTC, 25 hours ago)",
    )


def test_a_heartbeat_exactly_at_the_threshold_is_still_fresh(workspace):
    vm = evaluated(machine(last_heartbeat=NOW - timedelta(hours=24)))
    assert status(vm, HEALTH) == HEALTHY
    evaluate_agents([vm.pk], now=NOW + timedelta(seconds=1))
    assert status(vm, HEALTH)[0] == "unhealthy"


def test_a_long_silence_is_counted_in_days(workspace):
    vm = evaluated(machine(last_heartbeat=NOW - timedelta(hours=100)))
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent not responsive or missing ID (last heartbeat 2026-11-24 04:00 UTC, 4 days ago)",
    )


def test_the_staleness_threshold_is_a_setting(workspace, settings):
    assert django_settings.POSTURE_AGENT_STALE_AFTER_HOURS == 24
    vm = machine(last_heartbeat=NOW - timedelta(hours=30))
    settings.POSTURE_AGENT_STALE_AFTER_HOURS = 48
    assert status(evaluated(vm), HEALTH) == HEALTHY
    settings.POSTURE_AGENT_STALE_AFTER_HOURS = 12
    assert status(evaluated(vm), HEALTH) == (
        "unhealthy",
        "Agent not responsive or missing ID (last heartbeat 2026-11-27 02:00 UTC, 30 hours ago)",
    )


def test_a_threshold_under_two_hours_counts_the_silence_in_minutes(workspace, settings):
    settings.POSTURE_AGENT_STALE_AFTER_HOURS = 0.5
    vm = evaluated(machine(last_heartbeat=NOW - timedelta(minutes=45)))
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent not responsive or missing ID (last heartbeat 2026-11-28 07:15 UTC, 45 minutes ago)",
    )
    Resource.objects.filter(pk=vm.pk).update(last_heartbeat=NOW - timedelta(minutes=150))
    assert status(evaluated(vm), HEALTH)[1].endswith(", 2 hours ago)")


def test_the_first_problem_in_defenders_order_is_the_reason(workspace):
    # Unknown workspace, cannot connect and a stale heartbeat all at once: the workspace comes first.
    vm = evaluated(
        machine(workspace_id="ws-typo", agent_error="cannot_connect", last_heartbeat=NOW - timedelta(days=9))
    )
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent connected to missing or unknown workspace ('ws-typo' is not a registered workspace)",
    )
    Resource.objects.filter(pk=vm.pk).update(workspace_id="ws-prod")
    assert status(evaluated(vm), HEALTH) == ("unhealthy", "Agent cannot connect to workspace")
    Resource.objects.filter(pk=vm.pk).update(agent_error="")
    assert status(evaluated(vm), HEALTH)[1].startswith("Agent not responsive or missing ID (last heartbeat ")


def test_an_unchanged_verdict_writes_nothing_and_a_changed_one_moves_status_changed(workspace):
    vm = machine(last_heartbeat=NOW - timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        evaluate_agents([vm.pk], now=NOW)
    before = database_state()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        evaluate_agents([vm.pk], now=NOW + timedelta(hours=1))
    assert database_state() == before
    later = NOW + timedelta(hours=23)
    with time_machine.travel(later, tick=False):
        evaluate_agents([vm.pk], now=later)
    health = Assessment.objects.get(resource=vm, recommendation__key=HEALTH)
    assert (health.status, health.status_changed, health.first_evaluated) == ("unhealthy", later, NOW)


def test_a_changed_verdict_rewrites_its_own_row_and_governance_sees_the_change(workspace):
    vm = machine(last_heartbeat=NOW - timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        evaluate_agents([vm.pk], now=NOW)
    health = Assessment.objects.get(resource=vm, recommendation__key=HEALTH)
    installed = Assessment.objects.get(resource=vm, recommendation__key=VM)
    later = NOW + timedelta(hours=23)
    with time_machine.travel(later, tick=False):
        changed = evaluate_agents([vm.pk], now=later)
    # The same row (items and exemptions point at it), rewritten; the unchanged one untouched.
    rewritten = Assessment.objects.get(pk=health.pk)
    assert (rewritten.status, rewritten.updated_at, rewritten.first_evaluated) == ("unhealthy", later, NOW)
    assert rewritten.reason.startswith("Agent not responsive")
    assert Assessment.objects.get(pk=installed.pk).updated_at == NOW
    assert Assessment.objects.filter(resource=vm).count() == 2
    # Governance follows the machines the evaluator says it changed (no save signal fires for a bulk write).
    assert changed == {vm.pk}
    with time_machine.travel(later, tick=False):
        assert evaluate_agents([vm.pk], now=later) == set()


# --- Arc machines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os", "key", "other"), [("linux", ARC_LINUX, ARC_WINDOWS), ("windows", ARC_WINDOWS, ARC_LINUX)]
)
def test_an_arc_machine_gets_the_recommendation_of_its_own_os_only(workspace, os, key, other):
    arc = evaluated(machine(kind="arc_machine", os=os, agent_state="not_installed"))
    assert status(arc, key) == NOT_INSTALLED
    assert status(arc, HEALTH) == ("not_applicable", "Agent not installed")
    assert agent_keys(arc) == {key, HEALTH}
    Resource.objects.filter(pk=arc.pk).update(agent_state="installed")
    assert status(evaluated(arc), key) == HEALTHY
    assert status(arc, HEALTH) == HEALTHY


def test_an_arc_machine_nobody_described_is_not_applicable(workspace):
    arc = evaluated(make_resource(kind="arc_machine", os="windows"))
    assert status(arc, ARC_WINDOWS) == NO_DATA
    assert status(arc, HEALTH) == NO_DATA


def test_an_arc_machine_of_unknown_os_gets_only_the_health_recommendation(workspace):
    arc = evaluated(machine(kind="arc_machine", os=""))
    assert agent_keys(arc) == {HEALTH}
    assert status(arc, HEALTH) == HEALTHY


def test_clusters_get_no_agent_recommendation(workspace):
    cluster = evaluated(make_resource(kind="k8s_cluster", os=""))
    assert agent_keys(cluster) == set()


# --- Scale sets --------------------------------------------------------------------------------------


def scale_set_with(*instance_fields: dict[str, Any], **fields: Any) -> tuple[Resource, list[Resource]]:
    scale_set = make_resource(kind="vmss", **fields)
    instances = [
        make_resource(
            scale_set.subscription,
            kind="vmss_instance",
            parent=scale_set,
            name=f"{scale_set.name}_{n}",
            **each,
        )
        for n, each in enumerate(instance_fields)
    ]
    return scale_set, instances


def test_a_scale_set_with_instances_lacking_the_agent_counts_them_by_reason(workspace):
    scale_set, instances = scale_set_with(
        {"agent_state": "installed", "agent_evidence": "inventory"},
        {"agent_state": "not_installed", "agent_evidence": "inventory"},
        {"agent_state": "pending", "agent_evidence": "provisioning"},
    )
    # Evaluating one instance rolls its scale set up.
    evaluate_agents([instances[0].pk], now=NOW)
    assert status(scale_set, SCALE_SET) == (
        "unhealthy",
        "2 of 3 instances lack the monitoring agent (1 agent not installed, 1 pending agent installation)",
    )
    assert source(scale_set, SCALE_SET) == "agent_evidence"
    # Instances are counted in their scale set, not on their own.
    assert all(agent_keys(instance) == set() for instance in instances)


def test_a_single_instance_lacking_the_agent_is_said_in_the_singular(workspace):
    scale_set, _ = scale_set_with(
        {"agent_state": "install_failed", "agent_evidence": "inventory"},
    )
    assert status(evaluated(scale_set), SCALE_SET) == (
        "unhealthy",
        "1 of 1 instance lacks the monitoring agent (1 installation failed - general error)",
    )


def test_instances_nobody_described_count_in_the_total_but_not_as_lacking(workspace):
    scale_set, _ = scale_set_with(
        {"agent_state": "not_installed", "agent_evidence": "inventory"},
        {},
        {},
    )
    assert status(evaluated(scale_set), SCALE_SET) == (
        "unhealthy",
        "1 of 3 instances lacks the monitoring agent (1 agent not installed)",
    )


def test_a_scale_set_whose_instances_all_have_the_agent_is_healthy(workspace):
    # The scale set's own row (an empty agent cell) says not installed: its instances say better.
    scale_set, _ = scale_set_with(
        {"agent_state": "installed", "agent_evidence": "heartbeat"},
        {"agent_state": "installed", "agent_evidence": "inventory"},
        agent_state="not_installed",
        agent_evidence="inventory",
    )
    assert status(evaluated(scale_set), SCALE_SET) == HEALTHY


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"agent_state": "installed", "agent_evidence": "inventory"}, HEALTHY),
        ({"agent_state": "not_installed", "agent_evidence": "inventory"}, NOT_INSTALLED),
        ({"agent_state": "pending", "agent_evidence": "provisioning"}, PENDING),
    ],
)
def test_a_scale_set_without_known_instances_answers_for_itself(workspace, fields, expected):
    without_instances, _ = scale_set_with(**fields)
    with_undescribed_instance, _ = scale_set_with({}, **fields)
    evaluate_agents([without_instances.pk, with_undescribed_instance.pk], now=NOW)
    assert status(without_instances, SCALE_SET) == expected
    assert status(with_undescribed_instance, SCALE_SET) == expected
    assert source(without_instances, SCALE_SET) == "agent_evidence"


def test_a_scale_set_nobody_described_is_not_applicable(workspace):
    alone, _ = scale_set_with()
    with_instances, _ = scale_set_with({}, {})
    evaluate_agents([alone.pk, with_instances.pk], now=NOW)
    assert status(alone, SCALE_SET) == NO_INSTANCE_DATA
    assert status(with_instances, SCALE_SET) == NO_INSTANCE_DATA
    assert source(alone, SCALE_SET) == "agent_no_data"
    assert agent_keys(alone) == {SCALE_SET}


def test_the_fixture_inventory_gives_each_machine_its_agent_verdicts(fixture_time):
    assert ingest_file(ESTATE).status == "imported"
    verdicts = {
        (name, key): (status_, reason)
        for name, key, status_, reason in Assessment.objects.filter(
            recommendation__key__in=AGENT_KEYS
        ).values_list("resource__name", "recommendation__key", "status", "reason")
    }
    assert verdicts == {
        ("web-01", VM): HEALTHY,
        ("web-01", HEALTH): HEALTHY,
        ("web-02", VM): NOT_INSTALLED,
        ("web-02", HEALTH): ("not_applicable", "Agent not installed"),
        ("db-01", VM): HEALTHY,
        ("db-01", HEALTH): HEALTHY,
        ("api", SCALE_SET): (
            "unhealthy",
            "1 of 2 instances lacks the monitoring agent (1 pending agent installation)",
        ),
        ("dc-lon-07", ARC_WINDOWS): ("unhealthy", "Installation failed - general error"),
        ("dc-lon-07", HEALTH): ("unhealthy", "Installation failed - general error"),
        ("lab-01", ARC_LINUX): NOT_INSTALLED,
        ("lab-01", HEALTH): ("not_applicable", "Agent not installed"),
    }


# --- Precedence over Defender's statuses ---------------------------------------------------------------


def test_no_agent_data_never_replaces_a_status_imported_from_defender(workspace):
    vm = make_resource(name="vm1", resource_id=f"{AZURE_VM}/vm1")
    ingest_defender(
        defender_record(vm.resource_id, VM, "Unhealthy", description="Agent not installed"),
        defender_record(vm.resource_id, HEALTH, "Healthy"),
    )
    evaluate_agents([vm.pk], now=NOW)
    assert status(vm, VM) == NOT_INSTALLED
    assert status(vm, HEALTH) == HEALTHY
    assert source(vm, VM) == source(vm, HEALTH) == "defender_export"


def test_agent_evidence_replaces_a_status_imported_from_defender_and_a_later_export_keeps_it(workspace):
    vm = machine(name="vm1", resource_id=f"{AZURE_VM}/vm1")
    export = [
        defender_record(vm.resource_id, VM, "Unhealthy", description="Agent not installed"),
        defender_record(
            vm.resource_id, HEALTH, "Unhealthy", description="Agent not responsive or missing ID"
        ),
    ]
    ingest_defender(*export)
    evaluate_agents([vm.pk], now=NOW)
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == HEALTHY
    assert source(vm, VM) == source(vm, HEALTH) == "agent_evidence"
    counts = ingest_defender(*export)
    assert counts["kept_own_evidence"] == 2
    assert status(vm, VM) == HEALTHY


@pytest.mark.parametrize("cause", ["OffByPolicy", "Exempt"])
def test_a_recommendation_the_organisation_turned_off_stays_off_whatever_the_evidence(workspace, cause):
    vm = machine(name="vm1", resource_id=f"{AZURE_VM}/vm1", agent_state="not_installed")
    reason = "The effective policy for the assessment was evaluated to off"
    ingest_defender(defender_record(vm.resource_id, VM, "NotApplicable", cause=cause, description=reason))
    evaluate_agents([vm.pk], now=NOW)
    assessment = Assessment.objects.get(resource=vm, recommendation__key=VM)
    assert (assessment.status, assessment.cause, assessment.reason, assessment.source) == (
        "not_applicable",
        cause,
        reason,
        "defender_export",
    )
    # The health recommendation was not turned off: the evidence decides it.
    assert status(vm, HEALTH) == ("not_applicable", "Agent not installed")


# --- Staleness by the periodic task alone -------------------------------------------------------------


def test_beat_runs_the_agent_re_evaluation_task():
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert evaluate_agents_task.name in tasks
    assert evaluate_agents_task.name in celery_app.tasks


@pytest.mark.usefixtures("eager_celery")
def test_a_silent_agent_turns_unhealthy_by_the_periodic_task_and_a_heartbeat_heals_it(workspace, token):
    vm = make_resource(name="web-01")
    with time_machine.travel(NOW, tick=False):
        beat(token, "web-01")
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == HEALTHY
    healthy_score = compute_score()
    assert healthy_score.current == healthy_score.max > 0

    with time_machine.travel(NOW + timedelta(hours=23), tick=False):
        assert evaluate_agents_task.delay().get() == 1
    assert status(vm, HEALTH) == HEALTHY

    silent = NOW + timedelta(hours=24, minutes=30)
    with time_machine.travel(silent, tick=False):
        evaluate_agents_task.delay()
    assert status(vm, HEALTH) == (
        "unhealthy",
        "Agent not responsive or missing ID (last heartbeat 2026-11-28 08:00 UTC, 24 hours ago)",
    )
    assert Assessment.objects.get(resource=vm, recommendation__key=HEALTH).status_changed == silent
    assert status(vm, VM) == HEALTHY
    assert compute_score().current < healthy_score.current

    back = silent + timedelta(minutes=5)
    with time_machine.travel(back, tick=False):
        beat(token, "web-01")
    assert status(vm, HEALTH) == HEALTHY
    assert Assessment.objects.get(resource=vm, recommendation__key=HEALTH).status_changed == back
    assert compute_score().current == healthy_score.current


@pytest.mark.usefixtures("eager_celery")
def test_the_periodic_task_re_evaluates_every_machine_and_scale_set(workspace):
    vm = machine(last_heartbeat=NOW - timedelta(hours=30))
    arc = machine(kind="arc_machine", os="linux", last_heartbeat=NOW - timedelta(hours=30))
    scale_set, _ = scale_set_with({"agent_state": "pending", "agent_evidence": "provisioning"})
    make_resource(kind="k8s_cluster", os="")
    with time_machine.travel(NOW, tick=False):
        # The VM, the Arc machine and the scale set; instances roll up into their set.
        assert evaluate_agents_task.delay().get() == 3
    assert status(vm, HEALTH)[1].endswith("30 hours ago)")
    assert status(arc, HEALTH)[1].endswith("30 hours ago)")
    assert status(scale_set, SCALE_SET) == (
        "unhealthy",
        "1 of 1 instance lacks the monitoring agent (1 pending agent installation)",
    )


def test_evaluating_every_agent_goes_through_them_in_chunks(workspace, monkeypatch):
    monkeypatch.setattr("recommendations.evaluators.agents.CHUNK", 2)
    machines = [machine(last_heartbeat=NOW - timedelta(hours=n)) for n in (1, 30, 2, 40, 3)]
    assert evaluate_all_agents(now=NOW) == 5
    assert [status(m, HEALTH)[0] for m in machines] == [
        "healthy",
        "unhealthy",
        "healthy",
        "unhealthy",
        "healthy",
    ]


@pytest.mark.worker
def test_the_real_worker_turns_a_machine_silent_for_30_hours_unhealthy():
    Workspace.objects.create(name="Production", workspace_id="ws-prod")
    vm = make_resource(
        name="web-01",
        agent_state="installed",
        agent_evidence="heartbeat",
        workspace_id="ws-prod",
        last_heartbeat=timezone.now() - timedelta(hours=30),
    )
    assert evaluate_agents_task.delay().get(timeout=60) == 1
    health_status, reason = status(vm, HEALTH)
    assert health_status == "unhealthy"
    assert reason.startswith("Agent not responsive or missing ID (last heartbeat ")
    assert reason.endswith(", 30 hours ago)")
    assert status(vm, VM) == HEALTHY


# --- Auto-provisioning ---------------------------------------------------------------------------------


def test_switching_auto_provisioning_on_marks_machines_without_an_agent_pending(workspace, token):
    subscription = make_subscription("Production")
    silent = make_resource(subscription, name="silent")
    without = machine(subscription=subscription, name="without", agent_state="not_installed")
    installed = machine(subscription=subscription, name="installed")
    failed = machine(subscription=subscription, name="failed", agent_state="install_failed")
    reporting = make_resource(subscription, name="reporting")
    scale_set, (instance,) = scale_set_with({}, subscription=subscription)
    cluster = make_resource(subscription, name="aks", kind="k8s_cluster", os="")
    elsewhere = make_resource(make_subscription("Lab"), name="elsewhere")
    with time_machine.travel(NOW, tick=False):
        beat(token, "reporting")
    untouched = {
        r.pk: (r.agent_state, r.agent_evidence)
        for r in Resource.objects.filter(
            pk__in=[installed.pk, failed.pk, reporting.pk, cluster.pk, elsewhere.pk]
        )
    }

    with time_machine.travel(NOW, tick=False):
        assert set_auto_provisioning(subscription, workspace) == 3

    subscription.refresh_from_db()
    assert subscription.provisioning_workspace == workspace
    for pending in (silent, without, instance):
        pending.refresh_from_db()
        assert (pending.agent_state, pending.agent_evidence, pending.agent_error) == (
            "pending",
            "provisioning",
            "",
        )
    assert {
        r.pk: (r.agent_state, r.agent_evidence) for r in Resource.objects.filter(pk__in=untouched)
    } == untouched
    assert status(silent, VM) == PENDING
    assert status(silent, HEALTH) == PENDING
    assert status(without, VM) == PENDING
    assert status(scale_set, SCALE_SET) == (
        "unhealthy",
        "1 of 1 instance lacks the monitoring agent (1 pending agent installation)",
    )
    assert status(reporting, VM) == HEALTHY

    with time_machine.travel(NOW, tick=False):
        assert set_auto_provisioning(subscription, None) == 3
    subscription.refresh_from_db()
    assert subscription.provisioning_workspace is None
    for reverted in (silent, without, instance):
        reverted.refresh_from_db()
        assert (reverted.agent_state, reverted.agent_evidence) == ("not_installed", "provisioning")
    assert status(silent, VM) == NOT_INSTALLED
    assert status(silent, HEALTH) == ("not_applicable", "Agent not installed")
    assert status(scale_set, SCALE_SET) == (
        "unhealthy",
        "1 of 1 instance lacks the monitoring agent (1 agent not installed)",
    )
    assert {
        r.pk: (r.agent_state, r.agent_evidence) for r in Resource.objects.filter(pk__in=untouched)
    } == untouched


def test_switching_auto_provisioning_on_again_makes_the_reverted_machines_pending_again(workspace):
    subscription = make_subscription("Production")
    vm = make_resource(subscription)
    set_auto_provisioning(subscription, workspace)
    set_auto_provisioning(subscription, None)
    assert status(vm, VM) == NOT_INSTALLED
    assert set_auto_provisioning(subscription, workspace) == 1
    assert status(vm, VM) == PENDING


def test_the_agents_first_heartbeat_ends_pending(workspace, token):
    subscription = make_subscription("Production")
    vm = make_resource(subscription, name="web-01")
    set_auto_provisioning(subscription, workspace)
    assert status(vm, HEALTH) == PENDING
    with time_machine.travel(NOW, tick=False):
        beat(token, "web-01")
    vm.refresh_from_db()
    assert (vm.agent_state, vm.agent_evidence) == ("installed", "heartbeat")
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == HEALTHY
    # Switching auto-provisioning off does not touch a machine its agent reported from.
    assert set_auto_provisioning(subscription, None) == 0
    assert status(vm, VM) == HEALTHY


def test_switching_auto_provisioning_off_leaves_what_an_inventory_said_is_pending(workspace):
    subscription = make_subscription("Production")
    listed = machine(subscription=subscription, agent_state="pending")
    set_auto_provisioning(subscription, workspace)
    assert set_auto_provisioning(subscription, None) == 0
    listed.refresh_from_db()
    assert (listed.agent_state, listed.agent_evidence) == ("pending", "inventory")


def test_new_machines_of_an_auto_provisioned_subscription_are_pending_and_reimporting_keeps_them(workspace):
    set_auto_provisioning(make_subscription("Production"), workspace)
    inventory = (
        f"{AGENT_HEADER}\n"
        "vm:1,one,vm,linux,Production,not_installed,,,\n"
        "vm:2,two,vm,linux,Production,,,,\n"
        "vm:3,three,vm,linux,Production,installed,1.19.0,ws-prod,2026-11-28T07:00:00Z\n"
        "vm:4,four,vm,linux,Lab,not_installed,,,\n"
    )
    with time_machine.travel(NOW, tick=False):
        assert ingest_inventory(inventory)["resources_created"] == 4
    states = dict(Resource.objects.values_list("name", "agent_state"))
    assert states == {"one": "pending", "two": "pending", "three": "installed", "four": "not_installed"}
    one = Resource.objects.get(name="one")
    assert one.agent_evidence == "provisioning"
    assert status(one, VM) == PENDING
    assert status(Resource.objects.get(name="three"), VM) == HEALTHY
    assert status(Resource.objects.get(name="four"), VM) == NOT_INSTALLED

    before = database_state()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        counts = ingest_inventory(inventory)
    assert (counts["resources_unchanged"], counts["resources_changed"]) == (4, 0)
    assert database_state() == before


def test_new_machines_listed_without_the_agent_column_are_pending_too(workspace):
    set_auto_provisioning(make_subscription("Production"), workspace)
    inventory = (
        f"{INVENTORY_HEADER}\nvm:1,one,vm,linux,Production\narc:1,arc,arc_machine,windows,Production\n"
    )
    ingest_inventory(inventory)
    one, arc = Resource.objects.get(name="one"), Resource.objects.get(name="arc")
    assert (one.agent_state, one.agent_evidence) == ("pending", "provisioning")
    assert status(one, VM) == PENDING
    assert status(arc, ARC_WINDOWS) == PENDING
    before = database_state()
    assert ingest_inventory(inventory)["resources_unchanged"] == 2
    assert database_state() == before


def test_an_inventory_saying_the_agent_is_installed_ends_pending(workspace):
    set_auto_provisioning(make_subscription("Production"), workspace)
    ingest_inventory(f"{AGENT_HEADER}\nvm:1,one,vm,linux,Production,,,,\n")
    with time_machine.travel(NOW, tick=False):
        ingest_inventory(
            f"{AGENT_HEADER}\nvm:1,one,vm,linux,Production,installed,1.19.0,ws-prod,2026-11-28T07:00:00Z\n"
        )
    one = Resource.objects.get()
    assert (one.agent_state, one.agent_evidence) == ("installed", "inventory")
    assert status(one, VM) == HEALTHY


def test_machines_a_defender_export_creates_in_an_auto_provisioned_subscription_are_pending(workspace):
    subscription = Subscription.objects.create(name="Production", external_id=DEFENDER_SUBSCRIPTION)
    set_auto_provisioning(subscription, workspace)
    vm_id = f"{AZURE_VM}/vm1"
    counts = ingest_defender(defender_record(vm_id, VM, "Unhealthy", description="Agent not installed"))
    assert counts["resources_created"] == 1
    vm = Resource.objects.get()
    assert vm.subscription == subscription
    assert (vm.agent_state, vm.agent_evidence) == ("pending", "provisioning")
    assert status(vm, VM) == PENDING
    assert source(vm, VM) == "agent_evidence"
    assert status(vm, HEALTH) == PENDING


def test_machines_a_defender_export_creates_elsewhere_keep_defenders_status(workspace):
    counts = ingest_defender(
        defender_record(f"{AZURE_VM}/vm1", VM, "Unhealthy", description="Agent not installed")
    )
    assert counts["resources_created"] == 1
    vm = Resource.objects.get()
    assert (vm.agent_state, vm.agent_evidence) == ("not_installed", "")
    assert status(vm, VM) == NOT_INSTALLED
    assert source(vm, VM) == "defender_export"


# --- Inventory precedence --------------------------------------------------------------------------------


def test_an_inventory_without_the_agent_column_says_nothing_about_agents(workspace):
    ingest_inventory(
        f"{AGENT_HEADER}\nvm:1,one,vm,linux,prod,installed,1.19.0,ws-prod,2026-11-28T07:00:00Z\n"
    )
    ingest_inventory(f"{INVENTORY_HEADER}\nvm:1,one,vm,windows,prod\nvm:2,two,vm,linux,prod\n")
    one = Resource.objects.get(name="one")
    assert one.os == "windows"
    assert (one.agent_state, one.agent_version, one.workspace_id, one.agent_evidence) == (
        "installed",
        "1.19.0",
        "ws-prod",
        "inventory",
    )
    assert one.last_heartbeat == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    two = Resource.objects.get(name="two")
    assert (two.agent_state, two.agent_evidence) == ("not_installed", "")
    assert status(two, VM) == NO_DATA


def test_an_empty_agent_cell_is_evidence_that_no_agent_is_installed(workspace):
    ingest_inventory(f"{INVENTORY_HEADER},agent\nvm:1,one,vm,linux,prod,\n")
    one = Resource.objects.get()
    assert (one.agent_state, one.agent_evidence) == ("not_installed", "inventory")
    assert status(one, VM) == NOT_INSTALLED
    assert source(one, VM) == "agent_evidence"


@pytest.mark.parametrize(
    "row",
    [
        "installed,0.9.0,ws-prod,2026-11-28T07:00:00Z",  # a heartbeat older than the agent's own
        "installed,0.9.0,ws-prod,2026-11-28T08:00:00Z",  # the same heartbeat
        "not_installed,,,",  # no heartbeat at all
        "pending,,,",
    ],
    ids=["older heartbeat", "same heartbeat", "not installed", "pending"],
)
def test_an_inventory_does_not_undo_what_the_agents_heartbeat_said(token, row):
    ingest_inventory(f"{AGENT_HEADER}\nvm:1,web-01,vm,linux,prod,not_installed,,,\n")
    with time_machine.travel(NOW, tick=False):
        beat(token, "web-01")
    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        ingest_inventory(f"{AGENT_HEADER}\nvm:1,web-01,vm,windows,prod,{row}\n")
    web = Resource.objects.get()
    assert web.os == "windows"  # the rest of the row applies
    assert (web.agent_state, web.agent_version, web.agent_evidence, web.last_heartbeat) == (
        "installed",
        "1.0.0",
        "heartbeat",
        NOW,
    )
    assert status(web, VM) == HEALTHY
    assert status(web, HEALTH) == HEALTHY


def test_an_inventory_with_a_later_heartbeat_than_the_agents_overwrites_it(token):
    ingest_inventory(f"{AGENT_HEADER}\nvm:1,web-01,vm,linux,prod,not_installed,,,\n")
    with time_machine.travel(NOW, tick=False):
        beat(token, "web-01")
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        ingest_inventory(
            f"{AGENT_HEADER}\nvm:1,web-01,vm,linux,prod,installed,2.0.0,ws-other,2026-11-28T09:00:00Z\n"
        )
    web = Resource.objects.get()
    assert (web.agent_state, web.agent_version, web.workspace_id, web.agent_evidence, web.last_heartbeat) == (
        "installed",
        "2.0.0",
        "ws-other",
        "inventory",
        NOW + timedelta(hours=1),
    )
    assert status(web, HEALTH) == (
        "unhealthy",
        "Agent connected to missing or unknown workspace ('ws-other' is not a registered workspace)",
    )


def test_a_failed_installation_the_agent_reports_clears_with_its_next_good_heartbeat(token):
    vm = make_resource(name="web-01")
    with time_machine.travel(NOW, tick=False):
        beat(token, "web-01", error="local_agent_already_installed")
    assert status(vm, VM) == ("unhealthy", "Installation failed - local agent already installed")
    assert status(vm, HEALTH) == ("unhealthy", "Installation failed - local agent already installed")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        beat(token, "web-01")
    assert status(vm, VM) == HEALTHY
    assert status(vm, HEALTH) == HEALTHY


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("missing_vm_agent", "Missing or invalid Azure VM agent"),
        ("vm_not_ready", "VM state not ready for installation"),
    ],
)
def test_an_installer_error_in_a_heartbeat_is_the_machines_reason(error, reason):
    workspace = Workspace.objects.create(name="Main", workspace_id="ws-main")
    token = issue_token(workspace=workspace)
    machine, _ = record_heartbeat(
        token=token.record,
        heartbeat=Heartbeat(agent_version="1.0.0", os="linux", hostname="vm-err", error=error),
    )
    assert machine.agent_state == "install_failed"
    installed = Assessment.objects.get(resource=machine, recommendation__key="arc-linux-agent-installed")
    assert (installed.status, installed.reason) == ("unhealthy", reason)


def test_an_arc_machine_found_to_run_windows_loses_its_linux_agent_assessment():
    machine = make_resource(
        name="arc-1", kind="arc_machine", os="linux", agent_state="installed", agent_evidence="inventory"
    )
    evaluate_agents([machine.pk])
    assert Assessment.objects.filter(
        resource=machine, recommendation__key="arc-linux-agent-installed"
    ).exists()
    Resource.objects.filter(pk=machine.pk).update(os="windows")
    evaluate_agents([machine.pk])
    keys = set(Assessment.objects.filter(resource=machine).values_list("recommendation__key", flat=True))
    assert keys == {"arc-windows-agent-installed", "agent-health-resolved"}
