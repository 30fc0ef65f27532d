"""The score stage: one snapshot per import run, for the estate and the subscriptions the run touched.

An import job reports the estate's score before (as last stored) and after (the run's snapshot), so
nothing is scored twice more for it. Agents' uploads and heartbeats coalesce: their snapshot is taken
at most once a minute, the changes in between marked due and taken by the next run or by beat's task a
minute later; an agent's job then waits for its score after until that snapshot fills it in.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from posture.models import ImportJob, ImportStatus
from scoring.document import secure_score
from scoring.history import (
    ScoreFigures,
    last_estate_score,
    last_stored_estate_score,
    take_due_snapshots,
    take_snapshot,
)

# The score before any snapshot was stored: an estate nothing was imported into yet.
NO_SCORE = ScoreFigures(Decimal(0), 0, Decimal(0))


@dataclass(frozen=True)
class ScoreChange:
    """The estate's score before a run and after it (None: waiting for a coalesced snapshot), as the
    import job's document shows them."""

    before: dict[str, Any]
    after: dict[str, Any] | None


def snapshot_run(
    subscription_ids: set[int], *, coalesce: bool = False, observed_at: datetime | None = None
) -> ScoreChange:
    """Snapshot the estate and these subscriptions (and any that wait for one), stamped with the
    time of the run's newest evidence when it has one (scoring/history.py says when it cannot be)."""
    snapshot = take_snapshot(subscription_ids, coalesce=coalesce, observed_at=observed_at)
    return ScoreChange(
        before=score_figures(snapshot.before or NO_SCORE),
        after=score_figures(snapshot.after) if snapshot.after is not None else None,
    )


def unchanged_score() -> ScoreChange:
    """A run that changed nothing: the score before and after it is the last stored."""
    figures = score_figures(last_stored_estate_score() or NO_SCORE)
    return ScoreChange(before=figures, after=figures)


def take_waiting_snapshots(now: datetime | None = None) -> int:
    """Take the snapshot the coalesced changes wait for (beat, every minute), then give the import
    jobs that wait for their score after the estate's; returns how many jobs got it."""
    take_due_snapshots(now)
    figures = last_estate_score()
    if figures is None:
        return 0
    return ImportJob.objects.filter(status=ImportStatus.DONE, score_after__isnull=True).update(
        score_after=score_figures(figures)
    )


def score_figures(figures: ScoreFigures) -> dict[str, Any]:
    return secure_score(figures.current, figures.max, figures.percentage)
