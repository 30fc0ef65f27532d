"""The one way evaluators write their verdicts as assessments, with the precedence rules between sources.

- A verdict from evidence (a scan, a cluster dump) replaces whatever stood before, imported or not.
- A verdict without evidence ("No scan data") never replaces a status imported from Defender.
- An exempted assessment keeps its exemption's status; the verdict is held for when it ends.
- A recommendation Defender reports as disabled in policy or exempted stays so: that is the
  organisation's decision, not evidence.
- An unchanged verdict writes nothing; a changed status moves `status_changed` to the time of its
  evidence (a scan's end time) when the verdict carries one, else to now: due dates count from it.
The ingest of Defender exports applies the other side of the rule: it leaves evidence-based
assessments alone (intake/persist/assessments.py, EVIDENCE_SOURCES).
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from recommendations.models import Assessment, Recommendation

# Statuses imported rather than evaluated: Defender's export, and the clouds' own tools' findings that
# the catalog maps to a recommendation (intake/persist/cloud_findings.py).
CLOUD_FINDINGS = "cloud_findings"
IMPORTED_SOURCES = frozenset({"defender_export", CLOUD_FINDINGS})
# Defender's causes for a Not applicable that an organisation chose (statusCause).
DECIDED_CAUSES = frozenset({"OffByPolicy", "Exempt"})


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    evidence: bool
    # When the evidence first showed this status (a scan's end time); None: now.
    observed_at: datetime | None = None

    def since(self, now: datetime) -> datetime:
        """When the status began, as its evidence says; never later than now (a clock ahead)."""
        return min(self.observed_at, now) if self.observed_at is not None else now


@dataclass(frozen=True)
class Sources:
    """The `source` an evaluator writes: one for verdicts from evidence, one for verdicts without."""

    evidence: str
    no_evidence: str


# Every evaluator's sources, here so that imports can tell evidence-based assessments from the rest.
OS_CONFIG = Sources(evidence="os_config_scan", no_evidence="os_config_no_scan")
KUBERNETES = Sources(evidence="kubernetes_dump", no_evidence="kubernetes_no_dump")
AGENTS = Sources(evidence="agent_evidence", no_evidence="agent_no_data")
EVIDENCE_SOURCES = frozenset({OS_CONFIG.evidence, KUBERNETES.evidence, AGENTS.evidence})
# What a changed verdict rewrites.
UPDATED_FIELDS = (
    "status",
    "reason",
    "cause",
    "source",
    "status_changed",
    "held_status",
    "held_reason",
    "updated_at",
)


def store_verdicts(verdicts: dict[tuple[int, str], Verdict], sources: Sources) -> set[int]:
    """Write {(resource id, recommendation key): verdict} as assessments, in bulk; returns the resources
    whose assessments were created or changed."""
    if not verdicts:
        return set()
    keys = {key for _, key in verdicts}
    recommendations = {r.key: r for r in Recommendation.objects.filter(key__in=keys)}
    existing = {
        (a.resource_id, a.recommendation.key): a
        for a in Assessment.objects.filter(
            resource_id__in={resource for resource, _ in verdicts},
            recommendation__in=recommendations.values(),
        ).select_related("recommendation")
    }
    now = timezone.now()
    to_create: list[Assessment] = []
    to_update: list[Assessment] = []
    for (resource_id, key), verdict in verdicts.items():
        source = sources.evidence if verdict.evidence else sources.no_evidence
        current = existing.get((resource_id, key))
        if current is None:
            to_create.append(
                Assessment(
                    resource_id=resource_id,
                    recommendation=recommendations[key],
                    status=verdict.status,
                    reason=verdict.reason,
                    first_evaluated=verdict.since(now),
                    status_changed=verdict.since(now),
                    source=source,
                )
            )
            continue
        if current.source in IMPORTED_SOURCES and (not verdict.evidence or current.cause in DECIDED_CAUSES):
            continue
        if current.held_status:
            # Exempted: the verdict waits for the exemption's end.
            if (current.held_status, current.held_reason, current.source) != (
                verdict.status,
                verdict.reason,
                source,
            ):
                current.held_status, current.held_reason, current.source = (
                    verdict.status,
                    verdict.reason,
                    source,
                )
                current.updated_at = now
                to_update.append(current)
            continue
        if (current.status, current.reason, current.cause, current.source) == (
            verdict.status,
            verdict.reason,
            "",
            source,
        ):
            continue
        if current.status != verdict.status:
            current.status_changed = verdict.since(now)
        current.status, current.reason, current.cause, current.source = (
            verdict.status,
            verdict.reason,
            "",
            source,
        )
        current.updated_at = now
        to_update.append(current)
    Assessment.objects.bulk_create(to_create, batch_size=2000)
    # Changed rows written back as one INSERT ... ON CONFLICT DO UPDATE per batch (SQLite and PostgreSQL
    # alike): bulk_update's CASE per column per row is built in Python and took 8.5 s for 8,470 rows
    # (bench/README.md). Neither sends post_save; nothing listens to it (governance follows the
    # resources this returns).
    Assessment.objects.bulk_create(
        to_update,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["resource", "recommendation"],
        update_fields=UPDATED_FIELDS,
    )
    return {a.resource_id for a in to_create} | {a.resource_id for a in to_update}
