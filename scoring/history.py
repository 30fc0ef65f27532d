"""The score over time: snapshots of the secure score and every control, for the estate and each
subscription, stored when something changed or at least daily; and the series the trend charts draw."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Q
from django.utils import timezone

from posture.scope import ESTATE, Scope
from scoring.engine import ScoreReport, compute_score
from scoring.models import ScorePoint

# A snapshot is stored at least this often even when nothing changed, so that every day has a point.
AT_LEAST_EVERY = timedelta(days=1)
TREND_DAYS = (7, 30, 90)

# What two snapshots are compared on: (subscription, control) -> figures.
Figures = tuple[Decimal, int, Decimal, int, int, int, int]


def record_snapshot(now: datetime | None = None) -> bool:
    """Score the estate and each subscription; store the figures when they differ from the last
    snapshot's or when that one is a day old. Returns whether a snapshot was stored."""
    now = now or timezone.now()
    estate = compute_score(ESTATE)
    reports = [estate] + [
        # One engine run per subscription: a handful of aggregate queries each, never per resource.
        compute_score(Scope(subscription_ids=(sub.id,), label=sub.name))
        for sub in estate.subscriptions
    ]
    points = [point for report in reports for point in _points(report, now)]
    last_at = ScorePoint.objects.aggregate(last=Max("taken_at"))["last"]
    recent = last_at is not None and abs(now - last_at) < AT_LEAST_EVERY
    if recent and _figures(ScorePoint.objects.filter(taken_at=last_at)) == _figures(points):
        return False
    ScorePoint.objects.bulk_create(points)
    return True


def _points(report: ScoreReport, now: datetime) -> list[ScorePoint]:
    subscription_id = report.scope.subscription_ids[0] if report.scope.subscription_ids else None
    weight = sum(sub.weight for sub in report.subscriptions)
    points = [
        ScorePoint(
            taken_at=now,
            subscription_id=subscription_id,
            current=report.current,
            max=report.max,
            percentage=report.percentage,
            weight=weight,
        )
    ]
    for control in report.controls:
        if control.healthy + control.unhealthy + control.not_applicable == 0:
            continue
        points.append(
            ScorePoint(
                taken_at=now,
                subscription_id=subscription_id,
                control_id=control.id,
                current=control.current,
                max=control.max,
                percentage=control.percentage,
                healthy=control.healthy,
                unhealthy=control.unhealthy,
                not_applicable=control.not_applicable,
            )
        )
    return points


def _figures(points: Iterable[ScorePoint]) -> dict[tuple[int | None, int | None], Figures]:
    return {
        (p.subscription_id, p.control_id): (
            Decimal(p.current).quantize(Decimal("0.01")),
            p.max,
            Decimal(p.percentage).quantize(Decimal("0.0001")),
            p.healthy,
            p.unhealthy,
            p.not_applicable,
            p.weight,
        )
        for p in points
    }


@dataclass
class Series:
    name: str
    # One percentage (0-100) per moment of the trend; None before the control was first assessed.
    values: list[float | None] = field(default_factory=list)


@dataclass
class Trend:
    moments: list[datetime]
    score: Series
    controls: list[Series]


def has_history(scope: Scope) -> bool:
    """History is kept for the estate and each subscription, in full: not for what a tower sees."""
    if scope.is_restricted:
        return False
    return scope.is_estate or len(scope.subscription_ids or ()) == 1


def history(scope: Scope, days: int, now: datetime | None = None) -> Trend | None:
    """The secure score and each control over the last `days` days (None: no history for this scope)."""
    if not has_history(scope):
        return None
    since = (now or timezone.now()) - timedelta(days=days)
    where = Q(subscription_id=scope.subscription_ids[0]) if scope.subscription_ids else Q(subscription=None)
    rows = (
        ScorePoint.objects.filter(where, taken_at__gte=since)
        .order_by("taken_at", "control__position", "control__name")
        .values_list("taken_at", "control__name", "percentage")
    )
    moments: list[datetime] = []
    score = Series("Secure score")
    controls: dict[str, Series] = {}
    for taken_at, control_name, percentage in rows:
        if not moments or moments[-1] != taken_at:
            moments.append(taken_at)
            score.values.append(None)
            for series in controls.values():
                series.values.append(None)
        if control_name is None:
            series = score
        elif control_name not in controls:
            series = controls[control_name] = Series(control_name, [None] * len(moments))
        else:
            series = controls[control_name]
        series.values[-1] = float(Decimal(percentage) * 100)
    return Trend(moments, score, list(controls.values()))
