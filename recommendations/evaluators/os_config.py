"""Evaluates the two OS-configuration recommendations from findings.

- machines (VMs, Arc machines): Unhealthy with open failed rules, Healthy when the last scan evaluated
  rules and none is open, Not applicable ("No scan data available on the machine") when never scanned,
  and Not applicable with what happened when the last scan evaluated no rule (content made for another
  system: every result not applicable, not selected or not checked): a scan that checked nothing is no
  evidence of health;
- scale sets roll their instances up: Unhealthy if any instance is.

Scan evidence wins over an imported Defender status; without scan evidence an imported status stays.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count, Min, OuterRef, Subquery

from posture.models import Resource, ResourceKind
from recommendations.evaluators.verdicts import OS_CONFIG, Verdict, store_verdicts
from recommendations.models import AssessmentStatus, Finding, FindingState, ResultValue, Scan
from recommendations.models.rules import SEVERITY_RANK, RuleSeverity

MACHINE_KEY = "machine-config-vulns"
SCALE_SET_KEY = "vmss-config-vulns"
NO_SCAN = "No scan data available on the machine"
SOURCES = OS_CONFIG
# Results that say the rule was checked on the machine; any other (not applicable, not selected, not
# checked, error, unknown, informational) says nothing about its health.
EVALUATED = (ResultValue.PASS, ResultValue.FAIL, ResultValue.FIXED)


@dataclass(frozen=True)
class LastScan:
    """What the newest scan of a machine says about itself."""

    evaluated: bool
    reason: str
    content: str
    scanned_at: datetime


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


def _last_scans(ids: list[int]) -> dict[int, LastScan]:
    """Each scanned machine's newest scan (in the one order of scans): whether it evaluated a rule, and
    if not, the reason to show. One query however many machines."""
    newest = (
        Scan.objects.filter(resource_id=OuterRef("resource_id")).order_by(*Scan.NEWEST_FIRST).values("pk")[:1]
    )
    found: dict[int, LastScan] = {}
    for scan in Scan.objects.filter(resource_id__in=ids, pk=Subquery(newest)).select_related("benchmark"):
        counts = {value: int(n) for value, n in (scan.result_counts or {}).items() if n}
        evaluated = any(counts.get(value) for value in EVALUATED)
        reason = "" if evaluated else no_rule_evaluated(scan, counts)
        found[scan.resource_id] = LastScan(evaluated, reason, content_target(scan), scan.scanned_at)
    return found


def no_rule_evaluated(scan: Scan, counts: dict[str, int]) -> str:
    """Why a scan is no evidence: what its results were, and what its content was made for."""
    shown = ", ".join(
        f"{n} {ResultValue(value).label.lower() if value in ResultValue.values else value}"
        for value, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    when = f"{scan.scanned_at:%Y-%m-%d %H:%M} UTC"
    return f"The last scan ({when}) evaluated no rule ({shown or 'no result'}): {content_target(scan)}"


def content_target(scan: Scan) -> str:
    """What the scan's content was made for, as far as the scan tells."""
    benchmark = scan.benchmark
    if benchmark is not None and benchmark.platform:
        return f"its content targets {benchmark.platform}"
    title = benchmark.title if benchmark is not None and benchmark.title else scan.target_os
    if title:
        return f"its content is {title}, which may target another system"
    return "its content may target another system"


def _first_failing(ids: list[int]) -> dict[int, datetime]:
    """Per machine, when its open failed rules were first seen (the earliest): the evidence time of an
    Unhealthy verdict (a Healthy one's is its newest scan's end, in LastScan)."""
    return dict(
        Finding.objects.filter(resource_id__in=ids, state=FindingState.OPEN)
        .values("resource_id")
        .annotate(first=Min("first_seen"))
        .values_list("resource_id", "first")
        .order_by()
    )


def _observed(
    verdict: Verdict, members: list[int], first_failing: dict[int, datetime], last_scans: dict[int, LastScan]
) -> Verdict:
    """The verdict with the time its evidence shows it (for due dates counted from the first evidence)."""
    if verdict.status == AssessmentStatus.UNHEALTHY:
        moments = [first_failing[m] for m in members if m in first_failing]
        return replace(verdict, observed_at=min(moments)) if moments else verdict
    if verdict.status == AssessmentStatus.HEALTHY:
        moments = [last_scans[m].scanned_at for m in members if m in last_scans]
        return replace(verdict, observed_at=max(moments)) if moments else verdict
    return verdict


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def severity_breakdown(severities: Severities) -> str:
    """The failed rules by severity as they are named, highest first: "1 critical, 2 medium"."""
    present = [s for s, n in severities.items() if n]
    present.sort(key=lambda s: SEVERITY_RANK.get(RuleSeverity(s), 0), reverse=True)
    return ", ".join(f"{severities[s]} {SEVERITY_WORDS.get(s, s)}" for s in present)


def _machine_verdict(severities: Severities, last: LastScan | None) -> Verdict:
    failed = severities.total()
    if failed:
        return Verdict(
            AssessmentStatus.UNHEALTHY,
            f"{_plural(failed, 'failed OS configuration rule')} ({severity_breakdown(severities)})",
            True,
        )
    if last is not None and last.evaluated:
        return Verdict(AssessmentStatus.HEALTHY, "", True)
    if last is not None:
        # No evidence either way: a status imported from Defender stands, as without a scan.
        return Verdict(AssessmentStatus.NOT_APPLICABLE, last.reason, False)
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
    last_scans = _last_scans(machines)
    first_failing = _first_failing(machines)
    for machine in machines:
        severities = counts.get(machine, Counter())
        verdict = _machine_verdict(severities, last_scans.get(machine))
        verdicts[(machine, MACHINE_KEY)] = _observed(verdict, [machine], first_failing, last_scans)
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
    last_scans = _last_scans(every)
    first_failing = _first_failing(every)
    verdicts: dict[tuple[int, str], Verdict] = {}
    for scale_set, members in instances.items():
        failing = [m for m in members if counts.get(m)]
        scanned = [m for m in members if m in last_scans]
        evaluated = [m for m in scanned if last_scans[m].evaluated]
        if failing:
            severities: Severities = sum((counts[m] for m in failing), Counter())
            reason = (
                f"{len(failing)} of {_plural(len(members), 'instance')} fail OS configuration rules "
                f"({_plural(severities.total(), 'failed rule')}: {severity_breakdown(severities)})"
            )
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.UNHEALTHY, reason, True)
        elif evaluated:
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.HEALTHY, "", True)
        elif scanned:
            reason = (
                f"The last scans of its {_plural(len(scanned), 'scanned instance')} evaluated no rule: "
                f"{last_scans[scanned[0]].content}"
            )
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.NOT_APPLICABLE, reason, False)
        else:
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.NOT_APPLICABLE, NO_SCAN, False)
        verdicts[(scale_set, SCALE_SET_KEY)] = _observed(
            verdicts[(scale_set, SCALE_SET_KEY)], members, first_failing, last_scans
        )
    return verdicts
