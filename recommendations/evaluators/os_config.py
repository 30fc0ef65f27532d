"""Evaluates the two OS-configuration recommendations from findings.

- machines (VMs, Arc machines): Unhealthy with open failed rules, Healthy when scanned with none,
  Not applicable ("No scan data available on the machine") when never scanned;
- scale sets roll their instances up: Unhealthy if any instance is.

Scan evidence wins over an imported Defender status; without scan evidence an imported status stays.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from django.db.models import Count, Max, Min, Q

from posture.models import Resource, ResourceKind
from recommendations.evaluators.verdicts import OS_CONFIG, Verdict, store_verdicts
from recommendations.models import AssessmentStatus, Finding, FindingState, Scan

MACHINE_KEY = "machine-config-vulns"
SCALE_SET_KEY = "vmss-config-vulns"
NO_SCAN = "No scan data available on the machine"
SOURCES = OS_CONFIG
HIGH = ("high", "critical")


def _machine_counts(ids: list[int]) -> dict[int, tuple[int, int]]:
    rows = (
        Finding.objects.filter(resource_id__in=ids, state=FindingState.OPEN)
        .values("resource_id")
        .annotate(failed=Count("id"), high=Count("id", filter=Q(severity__in=HIGH)))
    )
    return {row["resource_id"]: (row["failed"], row["high"]) for row in rows}


def _evidence_times(ids: list[int]) -> tuple[dict[int, datetime], dict[int, datetime]]:
    """Per machine, when its open failed rules were first seen (the earliest), and its latest scan's
    end time: the evidence times of an Unhealthy and of a Healthy verdict."""
    first_failing = dict(
        Finding.objects.filter(resource_id__in=ids, state=FindingState.OPEN)
        .values("resource_id")
        .annotate(first=Min("first_seen"))
        .values_list("resource_id", "first")
        .order_by()
    )
    last_scan = dict(
        Scan.objects.filter(resource_id__in=ids)
        .values("resource_id")
        .annotate(last=Max("scanned_at"))
        .values_list("resource_id", "last")
        .order_by()
    )
    return first_failing, last_scan


def _observed(
    verdict: Verdict, members: list[int], times: tuple[dict[int, datetime], dict[int, datetime]]
) -> Verdict:
    """The verdict with the time its evidence shows it (for due dates counted from the first evidence)."""
    first_failing, last_scan = times
    if verdict.status == AssessmentStatus.UNHEALTHY:
        moments = [first_failing[m] for m in members if m in first_failing]
        return replace(verdict, observed_at=min(moments)) if moments else verdict
    if verdict.status == AssessmentStatus.HEALTHY:
        moments = [last_scan[m] for m in members if m in last_scan]
        return replace(verdict, observed_at=max(moments)) if moments else verdict
    return verdict


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _machine_verdict(failed: int, high: int, scanned: bool) -> Verdict:
    if failed:
        return Verdict(
            AssessmentStatus.UNHEALTHY,
            f"{_plural(failed, 'failed OS configuration rule')} ({high} high severity)",
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
    times = _evidence_times(machines)
    scanned = set(times[1])  # the machines with a scan: those with a latest scan time
    for machine in machines:
        failed, high = counts.get(machine, (0, 0))
        verdict = _machine_verdict(failed, high, machine in scanned)
        verdicts[(machine, MACHINE_KEY)] = _observed(verdict, [machine], times)
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
    times = _evidence_times(every)
    scanned = set(times[1])
    verdicts: dict[tuple[int, str], Verdict] = {}
    for scale_set, members in instances.items():
        failing = [m for m in members if counts.get(m, (0, 0))[0]]
        evaluated = [m for m in members if m in scanned]
        if failing:
            rules = sum(counts[m][0] for m in failing)
            high = sum(counts[m][1] for m in failing)
            reason = (
                f"{len(failing)} of {_plural(len(members), 'instance')} fail OS configuration rules "
                f"({_plural(rules, 'failed rule')}, {high} high severity)"
            )
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.UNHEALTHY, reason, True)
        elif evaluated:
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.HEALTHY, "", True)
        else:
            verdicts[(scale_set, SCALE_SET_KEY)] = Verdict(AssessmentStatus.NOT_APPLICABLE, NO_SCAN, False)
        verdicts[(scale_set, SCALE_SET_KEY)] = _observed(verdicts[(scale_set, SCALE_SET_KEY)], members, times)
    return verdicts
