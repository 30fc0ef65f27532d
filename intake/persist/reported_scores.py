"""Persists Defender's own secure score records (posture/importers/defender_score.py) as reported
scores: one row per subscription and control, the latest export's figures replacing the previous."""

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone

from intake.persist.inventory import find_or_create_subscriptions
from intake.stages import Persisted
from posture.importers.defender_score import ReportedScoreRecord
from scoring.models import Control, ReportedScore

_CENTS = Decimal("0.01")
_TEN_THOUSANDTHS = Decimal("0.0001")
FIGURES = (
    "control",
    "display_name",
    "current",
    "max",
    "percentage",
    "weight",
    "healthy",
    "unhealthy",
    "not_applicable",
    "imported_at",
)


def persist_reported_scores(records: Iterable[ReportedScoreRecord | str]) -> Persisted:
    """Store the figures; a record of another initiative than Defender's default is counted only.
    Posture's own score does not move: nothing is snapshotted."""
    counts: Counter[str] = Counter()
    kept: dict[tuple[str, str], ReportedScoreRecord] = {}
    for record in records:
        if isinstance(record, str):
            counts["skipped_other_initiatives"] += 1
            continue
        kept[(record.subscription_id, record.control_key)] = record  # the last of duplicates stands
    subscriptions = find_or_create_subscriptions({sub for sub, _ in kept}, counts, external=True)
    controls = {c.defender_id.lower(): c for c in Control.objects.exclude(defender_id="")}
    by_name = {c.name.lower(): c for c in Control.objects.all()}
    now = timezone.now()
    rows = [
        ReportedScore(
            subscription=subscriptions[record.subscription_id],
            control_key=record.control_key,
            control=(controls.get(record.control_key) or by_name.get(record.display_name.lower()))
            if record.control_key
            else None,
            display_name=record.display_name[:200],
            current=record.current.quantize(_CENTS),
            max=record.max,
            percentage=record.percentage.quantize(_TEN_THOUSANDTHS),
            weight=record.weight,
            healthy=record.healthy,
            unhealthy=record.unhealthy,
            not_applicable=record.not_applicable,
            imported_at=now,
        )
        for record in kept.values()
    ]
    ReportedScore.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["subscription", "control_key"],
        update_fields=list(FIGURES),
    )
    counts["reported_scores"] = sum(1 for row in rows if not row.control_key)
    counts["reported_controls"] = sum(1 for row in rows if row.control_key)
    counts["reported_controls_unknown"] = sum(1 for row in rows if row.control_key and row.control is None)
    counts["reported_subscriptions"] = len(subscriptions)
    return Persisted(outcomes=[dict(counts)])
