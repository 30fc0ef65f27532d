"""Evaluates the two OS-configuration recommendations from findings.

- machines (VMs, Arc machines): Unhealthy with open failed rules, Healthy when scanned with none,
  Not applicable ("No scan data available on the machine") when never scanned;
- scale sets roll their instances up: Unhealthy if any instance is.

Scan evidence wins over an imported Defender status; without scan evidence an imported status stays.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from posture.models import Resource, ResourceKind
from recommendations.models import Assessment, AssessmentStatus, Finding, FindingState, Recommendation, Scan

MACHINE_KEY = "machine-config-vulns"
SCALE_SET_KEY = "vmss-config-vulns"
NO_SCAN = "No scan data available on the machine"
SOURCE = "os_config_scan"
# An assessment made without evidence ("No scan data") must not outrank an imported one.
NO_EVIDENCE_SOURCE = "os_config_no_scan"
IMPORTED_SOURCES = {"defender_export"}
HIGH = ("high", "critical")


@dataclass(frozen=True)
class _Verdict:
    status: str
    reason: str
    evidence: bool


def _machine_counts(ids: list[int]) -> dict[int, tuple[int, int]]:
    rows = (
        Finding.objects.filter(resource_id__in=ids, state=FindingState.OPEN)
        .values("resource_id")
        .annotate(failed=Count("id"), high=Count("id", filter=Q(severity__in=HIGH)))
    )
    return {row["resource_id"]: (row["failed"], row["high"]) for row in rows}


def _scanned(ids: list[int]) -> set[int]:
    return set(Scan.objects.filter(resource_id__in=ids).values_list("resource_id", flat=True).distinct())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _machine_verdict(failed: int, high: int, scanned: bool) -> _Verdict:
    if failed:
        return _Verdict(
            AssessmentStatus.UNHEALTHY,
            f"{_plural(failed, 'failed OS configuration rule')} ({high} high severity)",
            True,
        )
    if scanned:
        return _Verdict(AssessmentStatus.HEALTHY, "", True)
    return _Verdict(AssessmentStatus.NOT_APPLICABLE, NO_SCAN, False)


def evaluate_os_configuration(resource_ids: Iterable[int]) -> None:
    """Re-evaluate the machines given, and the scale sets of any scale-set instance among them."""
    resources = list(Resource.objects.filter(pk__in=list(resource_ids)).only("id", "kind", "parent_id"))
    machines = [r.pk for r in resources if r.kind in (ResourceKind.VM, ResourceKind.ARC_MACHINE)]
    scale_sets = {r.pk for r in resources if r.kind == ResourceKind.VMSS}
    scale_sets |= {r.parent_id for r in resources if r.kind == ResourceKind.VMSS_INSTANCE and r.parent_id}
    verdicts: dict[tuple[int, str], _Verdict] = {}
    counts = _machine_counts(machines)
    scanned = _scanned(machines)
    for machine in machines:
        failed, high = counts.get(machine, (0, 0))
        verdicts[(machine, MACHINE_KEY)] = _machine_verdict(failed, high, machine in scanned)
    if scale_sets:
        verdicts.update(_scale_set_verdicts(sorted(scale_sets)))
    _store(verdicts)


def _scale_set_verdicts(scale_set_ids: list[int]) -> dict[tuple[int, str], _Verdict]:
    instances: dict[int, list[int]] = {pk: [] for pk in scale_set_ids}
    for pk, parent in Resource.objects.filter(
        parent_id__in=scale_set_ids, kind=ResourceKind.VMSS_INSTANCE
    ).values_list("id", "parent_id"):
        instances[parent].append(pk)
    every = [pk for members in instances.values() for pk in members]
    counts = _machine_counts(every)
    scanned = _scanned(every)
    verdicts: dict[tuple[int, str], _Verdict] = {}
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
            verdicts[(scale_set, SCALE_SET_KEY)] = _Verdict(AssessmentStatus.UNHEALTHY, reason, True)
        elif evaluated:
            verdicts[(scale_set, SCALE_SET_KEY)] = _Verdict(AssessmentStatus.HEALTHY, "", True)
        else:
            verdicts[(scale_set, SCALE_SET_KEY)] = _Verdict(AssessmentStatus.NOT_APPLICABLE, NO_SCAN, False)
    return verdicts


def _store(verdicts: dict[tuple[int, str], _Verdict]) -> None:
    if not verdicts:
        return
    recommendations = {r.key: r for r in Recommendation.objects.filter(key__in=[MACHINE_KEY, SCALE_SET_KEY])}
    resource_ids = {resource for resource, _ in verdicts}
    existing = {
        (a.resource_id, a.recommendation.key): a
        for a in Assessment.objects.filter(
            resource_id__in=resource_ids, recommendation__in=recommendations.values()
        ).select_related("recommendation")
    }
    now = timezone.now()
    to_create: list[Assessment] = []
    to_update: list[Assessment] = []
    for (resource_id, key), verdict in verdicts.items():
        current = existing.get((resource_id, key))
        if current is None:
            to_create.append(
                Assessment(
                    resource_id=resource_id,
                    recommendation=recommendations[key],
                    status=verdict.status,
                    reason=verdict.reason,
                    first_evaluated=now,
                    status_changed=now,
                    source=SOURCE if verdict.evidence else NO_EVIDENCE_SOURCE,
                )
            )
            continue
        if not verdict.evidence and current.source in IMPORTED_SOURCES:
            continue  # no scan of ours: what Defender said stands
        source = SOURCE if verdict.evidence else NO_EVIDENCE_SOURCE
        if (current.status, current.reason, current.cause, current.source) == (
            verdict.status,
            verdict.reason,
            "",
            source,
        ):
            continue
        if current.status != verdict.status:
            current.status_changed = now
        current.status, current.reason, current.cause, current.source = (
            verdict.status,
            verdict.reason,
            "",
            source,
        )
        current.updated_at = now
        to_update.append(current)
    Assessment.objects.bulk_create(to_create, batch_size=2000)
    Assessment.objects.bulk_update(
        to_update, ["status", "reason", "cause", "source", "status_changed", "updated_at"], batch_size=2000
    )
