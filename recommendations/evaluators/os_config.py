"""Evaluates the two OS-configuration recommendations from findings.

- machines (VMs, Arc machines): Unhealthy with open failed rules, Healthy when scanned with none,
  Not applicable ("No scan data available on the machine") when never scanned;
- scale sets roll their instances up: Unhealthy if any instance is.

Scan evidence wins over an imported Defender status; without scan evidence an imported status stays.
"""

from collections import Counter
from collections.abc import Iterable

from django.db.models import Count

from posture.models import Resource, ResourceKind
from recommendations.evaluators.verdicts import OS_CONFIG, Verdict, store_verdicts
from recommendations.models import AssessmentStatus, Finding, FindingState, Scan
from recommendations.models.rules import SEVERITY_RANK, RuleSeverity

MACHINE_KEY = "machine-config-vulns"
SCALE_SET_KEY = "vmss-config-vulns"
NO_SCAN = "No scan data available on the machine"
SOURCES = OS_CONFIG
# How a count of failed rules names each severity: "1 critical", "3 of unknown severity".
SEVERITY_WORDS: dict[str, str] = {
    RuleSeverity.CRITICAL: "critical",
    RuleSeverity.HIGH: "high",
    RuleSeverity.MEDIUM: "medium",
    RuleSeverity.LOW: "low",
    RuleSeverity.INFO: "informational",
    RuleSeverity.UNKNOWN: "of unknown severity",
}
# Open failed rules of a machine by severity ("critical": 1, "medium": 2).
Severities = Counter[str]


def _machine_counts(ids: list[int]) -> dict[int, Severities]:
    rows = (
        Finding.objects.filter(resource_id__in=ids, state=FindingState.OPEN)
        .values_list("resource_id", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, Severities] = {}
    for resource_id, severity, n in rows:
        counts.setdefault(resource_id, Counter())[severity] += n
    return counts


def _scanned(ids: list[int]) -> set[int]:
    return set(Scan.objects.filter(resource_id__in=ids).values_list("resource_id", flat=True).distinct())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def severity_breakdown(severities: Severities) -> str:
    """The failed rules by severity as they are named, highest first: "1 critical, 2 medium"."""
    present = [s for s, n in severities.items() if n]
    present.sort(key=lambda s: SEVERITY_RANK.get(RuleSeverity(s), 0), reverse=True)
    return ", ".join(f"{severities[s]} {SEVERITY_WORDS.get(s, s)}" for s in present)


def _machine_verdict(severities: Severities, scanned: bool) -> Verdict:
    failed = severities.total()
    if failed:
        return Verdict(
            AssessmentStatus.UNHEALTHY,
            f"{_plural(failed, 'failed OS configuration rule')} ({severity_breakdown(severities)})",
            True,
        )
    if scanned:
        return Verdict(AssessmentStatus.HEALTHY, "", True)
    return Verdict(AssessmentStatus.NOT_APPLICABLE, NO_SCAN, False)


def evaluate_os_configuration(resource_ids: Iterable[int]) -> set[int]:
    """Re-evaluate the machines given, and the scale sets of any scale-set instance among them; returns
    the resources whose assessments changed."""
    resources = list(Resource.objects.filter(pk__in=list(resource_ids)).only("id", "kind", "parent_id"))
    machines = [r.pk for r in resources if r.kind in (ResourceKind.VM, ResourceKind.ARC_MACHINE)]
    scale_sets = {r.pk for r in resources if r.kind == ResourceKind.VMSS}
    scale_sets |= {r.parent_id for r in resources if r.kind == ResourceKind.VMSS_INSTANCE and r.parent_id}
    verdicts: dict[tuple[int, str], Verdict] = {}
    counts = _machine_counts(machines)
    scanned = _scanned(machines)
    for machine in machines:
        severities = counts.get(machine, Counter())
        verdicts[(machine, MACHINE_KEY)] = _machine_verdict(severities, machine in scanned)
    if scale_sets:
        verdicts.update(_scale_set_verdicts(sorted(scale_sets)))
    return store_verdicts(verdicts, SOURCES)


def _scale_set_verdicts(scale_set_ids: list[int]) -> dict[tuple[int, str], Verdict]:
    instances: dict[int, list[int]] = {pk: [] for pk in scale_set_ids}
    for pk, parent in Resource.objects.filter(
        parent_id__in=scale_set_ids, kind=ResourceKind.VMSS_INSTANCE
    ).values_list("id", "parent_id"):
        instances[parent].append(pk)
    every = [pk for members in instances.values() for pk in members]
    counts = _machine_counts(every)
    scanned = _scanned(every)
    verdicts: dict[tuple[int, str], Verdict] = {}
    for scale_set, members in instances.items():
        failing = [m for m in members if counts.get(m)]
        evaluated = [m for m in members if m in scanned]
        if failing:
            severities: Severities = sum((counts[m] for m in failing), Counter())
            reason = (
                f"{len(failing)} of {_plural(len(members), 'instance')} fail OS configuration rules "
                f"({_plural(severities.total(), 'failed rule')}: {severity_breakdown(severities)})"
            )
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.UNHEALTHY, reason, True)
        elif evaluated:
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.HEALTHY, "", True)
        else:
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.NOT_APPLICABLE, NO_SCAN, False)
    return verdicts
