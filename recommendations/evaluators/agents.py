"""Evaluates the five monitoring-agent recommendations from what machines and inventories say of them.

Evidence is a machine's agent fields once somebody stated them (`Resource.agent_evidence`): an
inventory with an `agent` column, the agent's own heartbeats, or auto-provisioning. A machine nobody
said anything about is Not applicable ("No agent data available"), which never replaces a status
imported from Defender.

- *agent installed* (VMs, Linux and Windows Arc machines): Healthy when installed, else Unhealthy
  with why it is not (not installed, pending, installation failed, ...);
- *agent installed on scale sets*: the instances roll up, Unhealthy when any instance lacks it and the
  reason says how many; a scale set without known instances answers for itself;
- *agent health issues resolved* (VMs, Arc machines): the first of Defender's monitoring states that
  the evidence shows, in the order of `_health_problem` (a machine that is off first, since it explains
  everything after); a machine without an agent is Not applicable here (the installed recommendations
  already count it).

Staleness depends on the clock: `now` is a parameter, and the periodic task re-evaluates every machine.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from posture.models import (
    AgentError,
    AgentState,
    PowerState,
    Resource,
    ResourceKind,
    Workspace,
)
from recommendations.evaluators.verdicts import AGENTS, Verdict, store_verdicts
from recommendations.models import Assessment, AssessmentStatus

VM_KEY = "vm-agent-installed"
SCALE_SET_KEY = "vmss-agent-installed"
ARC_KEYS = {"linux": "arc-linux-agent-installed", "windows": "arc-windows-agent-installed"}
HEALTH_KEY = "agent-health-resolved"
KEYS = (VM_KEY, SCALE_SET_KEY, *ARC_KEYS.values(), HEALTH_KEY)
SOURCES = AGENTS

NO_AGENT_DATA = "No agent data available for the machine"
NO_INSTANCE_DATA = "No agent data available for the scale set or its instances"
NOT_INSTALLED = "Agent not installed"
PENDING = "Pending agent installation"
POWER_OFF = "Power state off"
UNKNOWN_WORKSPACE = "Agent connected to missing or unknown workspace"
NOT_RESPONSIVE = "Agent not responsive or missing ID"
# Errors an agent or its installer reported, in Defender's words.
ERROR_REASONS = {error.value: str(error.label) for error in AgentError if error.value}
FIELDS = (
    "id",
    "kind",
    "os",
    "parent_id",
    "power_state",
    "agent_state",
    "agent_error",
    "agent_evidence",
    "workspace_id",
    "last_heartbeat",
)


def stale_after() -> timedelta:
    return timedelta(hours=float(settings.POSTURE_AGENT_STALE_AFTER_HOURS))


def _missing_agent(machine: Resource) -> str:
    """Why a machine has no working agent, or "" when it has one installed."""
    if machine.agent_state == AgentState.INSTALLED:
        return ""
    if machine.agent_state == AgentState.PENDING:
        return PENDING
    if machine.agent_state == AgentState.INSTALL_FAILED:
        return ERROR_REASONS.get(machine.agent_error) or ERROR_REASONS[AgentError.INSTALL_FAILED]
    if machine.agent_error in (AgentError.MISSING_VM_AGENT, AgentError.NOT_READY):
        return ERROR_REASONS[machine.agent_error]
    return NOT_INSTALLED


def _installed_verdict(machine: Resource) -> Verdict:
    if not machine.agent_evidence:
        return Verdict(AssessmentStatus.NOT_APPLICABLE, NO_AGENT_DATA, False)
    problem = _missing_agent(machine)
    if problem:
        return Verdict(AssessmentStatus.UNHEALTHY, problem, True)
    return Verdict(AssessmentStatus.HEALTHY, "", True)


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        # The threshold is a float setting: under two hours, "0 hours ago" or "1 hours ago" would say little.
        return f"{minutes} minute{'' if minutes == 1 else 's'} ago"
    hours = minutes // 60
    return f"{hours} hours ago" if hours < 72 else f"{hours // 24} days ago"


def _health_problem(machine: Resource, workspaces: set[str], now: datetime) -> str:
    """The first monitoring state the evidence shows, in Defender's words, or "" when healthy."""
    if machine.power_state in (PowerState.STOPPED, PowerState.DEALLOCATED):
        return f"{POWER_OFF} ({machine.get_power_state_display().lower()})"
    missing = _missing_agent(machine)
    if missing:
        return missing
    if not machine.workspace_id:
        return f"{UNKNOWN_WORKSPACE} (the agent names no workspace)"
    if machine.workspace_id not in workspaces:
        return f"{UNKNOWN_WORKSPACE} ({machine.workspace_id!r} is not a registered workspace)"
    if machine.agent_error == AgentError.CANNOT_CONNECT:
        return ERROR_REASONS[AgentError.CANNOT_CONNECT]
    if machine.last_heartbeat is None:
        return f"{NOT_RESPONSIVE} (no heartbeat received)"
    silent = now - machine.last_heartbeat
    if silent > stale_after():
        last = machine.last_heartbeat.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"{NOT_RESPONSIVE} (last heartbeat {last}, {_ago(silent)})"
    return ""


def _health_verdict(machine: Resource, workspaces: set[str], now: datetime) -> Verdict:
    if not machine.agent_evidence:
        return Verdict(AssessmentStatus.NOT_APPLICABLE, NO_AGENT_DATA, False)
    if machine.agent_state == AgentState.NOT_INSTALLED:
        # No agent, no agent health: the installed recommendations count the machine, once.
        return Verdict(AssessmentStatus.NOT_APPLICABLE, NOT_INSTALLED, True)
    problem = _health_problem(machine, workspaces, now)
    if problem:
        return Verdict(AssessmentStatus.UNHEALTHY, problem, True)
    return Verdict(AssessmentStatus.HEALTHY, "", True)


def _scale_set_verdict(scale_set: Resource, instances: list[Resource]) -> Verdict:
    reported = [i for i in instances if i.agent_evidence]
    if not reported:
        if scale_set.agent_evidence:
            return _installed_verdict(scale_set)
        return Verdict(AssessmentStatus.NOT_APPLICABLE, NO_INSTANCE_DATA, False)
    lacking = Counter(problem for i in reported if (problem := _missing_agent(i)))
    if not lacking:
        return Verdict(AssessmentStatus.HEALTHY, "", True)
    count = sum(lacking.values())
    total = len(instances)
    verb = "lacks" if count == 1 else "lack"
    details = ", ".join(f"{n} {reason[0].lower()}{reason[1:]}" for reason, n in sorted(lacking.items()))
    return Verdict(
        AssessmentStatus.UNHEALTHY,
        f"{count} of {total} instance{'' if total == 1 else 's'} {verb} the monitoring agent ({details})",
        True,
    )


def evaluate_agents(resource_ids: Iterable[int], *, now: datetime | None = None) -> set[int]:
    """Re-evaluate the machines given, and the scale sets of the scale sets and instances among them;
    returns the resources whose assessments changed (or went)."""
    now = now or timezone.now()
    resources = list(Resource.objects.filter(pk__in=list(resource_ids)).only(*FIELDS))
    if not resources:
        return set()
    workspaces = set(Workspace.objects.values_list("workspace_id", flat=True))
    verdicts: dict[tuple[int, str], Verdict] = {}
    for machine in resources:
        if machine.kind == ResourceKind.VM:
            verdicts[(machine.pk, VM_KEY)] = _installed_verdict(machine)
        elif machine.kind == ResourceKind.ARC_MACHINE and machine.os in ARC_KEYS:
            verdicts[(machine.pk, ARC_KEYS[machine.os])] = _installed_verdict(machine)
        if machine.kind in (ResourceKind.VM, ResourceKind.ARC_MACHINE):
            verdicts[(machine.pk, HEALTH_KEY)] = _health_verdict(machine, workspaces, now)
    scale_set_ids = {r.pk for r in resources if r.kind == ResourceKind.VMSS}
    scale_set_ids |= {r.parent_id for r in resources if r.kind == ResourceKind.VMSS_INSTANCE and r.parent_id}
    if scale_set_ids:
        members = Resource.objects.filter(
            Q(pk__in=scale_set_ids) | Q(parent_id__in=scale_set_ids, kind=ResourceKind.VMSS_INSTANCE)
        ).only(*FIELDS)
        scale_sets: dict[int, Resource] = {}
        instances: dict[int, list[Resource]] = {pk: [] for pk in scale_set_ids}
        for member in members:
            if member.pk in scale_set_ids:
                scale_sets[member.pk] = member
            else:
                instances[member.parent_id].append(member)  # type: ignore[index]
        for pk, scale_set in scale_sets.items():
            if scale_set.kind == ResourceKind.VMSS:
                verdicts[(pk, SCALE_SET_KEY)] = _scale_set_verdict(scale_set, instances[pk])
    changed = store_verdicts(verdicts, SOURCES)
    return changed | _drop_inapplicable(resources, verdicts)


def _drop_inapplicable(resources: list[Resource], verdicts: dict[tuple[int, str], Verdict]) -> set[int]:
    """A machine whose kind or OS changed (an Arc machine found to run Windows) loses the agent
    assessments Posture gave it that no longer apply; imported ones stay, as Defender sent them. Returns
    the machines that lost one."""
    stale = [
        (pk, resource_id)
        for pk, resource_id, key in Assessment.objects.filter(
            resource__in=[r.pk for r in resources],
            recommendation__key__in=KEYS,
            source__in=(SOURCES.evidence, SOURCES.no_evidence),
        ).values_list("pk", "resource_id", "recommendation__key")
        if (resource_id, key) not in verdicts
    ]
    if stale:
        Assessment.objects.filter(pk__in=[pk for pk, _ in stale]).delete()
    return {resource_id for _, resource_id in stale}


AGENT_KINDS = (ResourceKind.VM, ResourceKind.ARC_MACHINE, ResourceKind.VMSS)
CHUNK = 2000


def evaluate_all_agents(*, now: datetime | None = None) -> int:
    """Re-evaluate every machine and scale set (staleness moves with the clock); returns how many."""
    now = now or timezone.now()
    ids = list(Resource.objects.filter(kind__in=AGENT_KINDS).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        evaluate_agents(ids[start : start + CHUNK], now=now)
    return len(ids)
