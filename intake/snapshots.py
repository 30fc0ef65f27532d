"""The score stage: one snapshot per import run, for the estate and the subscriptions the run touched.

An import job reports the estate's score before (as last stored) and after (the run's snapshot), so
nothing is scored twice more for it.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scoring.document import secure_score
from scoring.history import (
    ScoreFigures,
    last_stored_estate_score,
    take_snapshot,
)

# The score before any snapshot was stored: an estate nothing was imported into yet.
NO_SCORE = ScoreFigures(Decimal(0), 0, Decimal(0))


@dataclass(frozen=True)
class ScoreChange:
    """The estate's score before a run and after it, as the import job's document shows them."""

    before: dict[str, Any]
    after: dict[str, Any] | None


def snapshot_run(subscription_ids: set[int]) -> ScoreChange:
    """Snapshot the estate and these subscriptions (and any that wait for one)."""
    snapshot = take_snapshot(subscription_ids)
    return ScoreChange(
        before=score_figures(snapshot.before or NO_SCORE),
        after=score_figures(snapshot.after) if snapshot.after is not None else None,
    )


def unchanged_score() -> ScoreChange:
    """A run that changed nothing: the score before and after it is the last stored."""
    figures = score_figures(last_stored_estate_score() or NO_SCORE)
    return ScoreChange(before=figures, after=figures)


def score_figures(figures: ScoreFigures) -> dict[str, Any]:
    return secure_score(figures.current, figures.max, figures.percentage)
