"""The score over time: snapshots of the secure score and every control, for the estate and each
subscription, each scope stored when its figures changed or at least daily; and the series the trend
charts draw."""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from posture.models import Subscription
from posture.scope import ESTATE, Scope
from scoring.engine import ScoreReport, compute_score
from scoring.models import ScorePoint, SnapshotClock

# A scope's snapshot is stored at least this often even when nothing changed, so every day has a point.
AT_LEAST_EVERY = timedelta(days=1)
# Changes that may wait (agents' uploads and heartbeats) are snapshotted at most this often.
COALESCE_WITHIN = timedelta(minutes=1)
TREND_DAYS = (7, 30, 90)

# What two snapshots are compared on: (subscription, control) -> figures.
Figures = tuple[Decimal, int, Decimal, int, int, int, int]


@dataclass(frozen=True)
class ScoreFigures:
    current: Decimal
    max: int
    percentage: Decimal


@dataclass(frozen=True)
class Snapshot:
    """What a snapshot did: the estate's score as last stored before it and as it is now (None when
    the snapshot waits for a later one), and the scopes stored (None: the estate)."""

    before: ScoreFigures | None
    after: ScoreFigures | None
    stored: frozenset[int | None] = frozenset()


def record_snapshot(now: datetime | None = None) -> bool:
    """Snapshot the estate and every subscription (beat's hourly task); returns whether anything was
    stored."""
    return bool(take_snapshot(None, now=now).stored)


@transaction.atomic
def take_snapshot(
    subscription_ids: Collection[int] | None,
    *,
    now: datetime | None = None,
    coalesce: bool = False,
    observed_at: datetime | None = None,
) -> Snapshot:
    """Score the estate and these subscriptions (None: every one), and the subscriptions whose change
    waits for a snapshot; store each scope whose figures differ from its own last snapshot's, or whose
    last one is a day old.

    With `coalesce`, nothing is scored when the estate was snapshotted less than a minute ago: the
    scopes are marked due instead, for the next snapshot to take (an import's, or `take_due_snapshots`).

    `observed_at` is when the evidence that changed the score was observed (the newest scan's end
    time): the snapshot is stamped with it, so importing old scans draws the history they describe,
    unless that would place it before a stored snapshot of the same scopes (the history only moves
    forward: the estate is now what every scan says, not what the old one said) or after now."""
    now = now or timezone.now()
    estate = _estate_clock()
    wanted = set(
        Subscription.objects.values_list("pk", flat=True) if subscription_ids is None else subscription_ids
    )
    if coalesce and estate.taken_at is not None and now - estate.taken_at < COALESCE_WITHIN:
        _mark_due(wanted, now)
        return Snapshot(before=_score_figures(_last_snapshots([None]).get(None)), after=None)
    due = set(
        SnapshotClock.objects.filter(due_since__isnull=False)
        .exclude(scope=SnapshotClock.ESTATE)
        .values_list("scope", flat=True)
    )
    subscriptions = list(Subscription.objects.filter(pk__in=wanted | due).order_by("pk"))
    last = _last_snapshots([None, *(sub.pk for sub in subscriptions)])
    reports = [compute_score(ESTATE)] + [
        # One engine run per subscription: a handful of aggregate queries each, never per resource.
        compute_score(Scope(subscription_ids=(sub.pk,), label=sub.name))
        for sub in subscriptions
    ]
    stamp = _stamp(observed_at, now, [moment for moment, _ in last.values()])
    stored: set[int | None] = set()
    points: list[ScorePoint] = []
    for report in reports:
        scope = report.scope.subscription_ids[0] if report.scope.subscription_ids else None
        mine = _points(report, stamp)
        taken_at, figures = last.get(scope, (None, {}))
        recent = taken_at is not None and abs(stamp - taken_at) < AT_LEAST_EVERY
        if not (recent and figures == _figures(mine)):
            stored.add(scope)
            points.extend(mine)
    ScorePoint.objects.bulk_create(points)
    SnapshotClock.objects.bulk_create(
        [
            SnapshotClock(scope=scope, taken_at=now, due_since=None)
            for scope in [SnapshotClock.ESTATE, *(sub.pk for sub in subscriptions)]
        ],
        update_conflicts=True,
        unique_fields=["scope"],
        update_fields=["taken_at", "due_since"],
    )
    if gone := due - {sub.pk for sub in subscriptions}:
        # Marked due, then deleted: nothing to wait for.
        SnapshotClock.objects.filter(scope__in=gone).update(due_since=None)
    estate_now = reports[0]
    return Snapshot(
        before=_score_figures(last.get(None)),
        after=ScoreFigures(estate_now.current, estate_now.max, estate_now.percentage),
        stored=frozenset(stored),
    )


def _stamp(observed_at: datetime | None, now: datetime, stored: list[datetime]) -> datetime:
    """The time a snapshot is stored under: when its evidence was observed, if that is after every
    snapshot of its scopes already stored and not in the future; else now."""
    if observed_at is None or observed_at > now:
        return now
    if any(moment >= observed_at for moment in stored):
        return now
    return observed_at


def _estate_clock() -> SnapshotClock:
    """The estate's clock row, locked: one snapshot at a time decides and writes."""
    clock = SnapshotClock.objects.select_for_update().filter(scope=SnapshotClock.ESTATE).first()
    if clock is None:
        SnapshotClock.objects.bulk_create([SnapshotClock(scope=SnapshotClock.ESTATE)], ignore_conflicts=True)
        clock = SnapshotClock.objects.select_for_update().get(scope=SnapshotClock.ESTATE)
    return clock


def take_due_snapshots(now: datetime | None = None) -> Snapshot | None:
    """Take the snapshot that changes marked due wait for, once the estate's last one is a minute old
    (beat's task, every minute); None when nothing waits."""
    if not SnapshotClock.objects.filter(due_since__isnull=False).exists():
        return None
    return take_snapshot((), now=now, coalesce=True)


def last_estate_score() -> ScoreFigures | None:
    """The estate's score as last stored, or None while a change waits for its snapshot (or before
    any)."""
    if SnapshotClock.objects.filter(due_since__isnull=False).exists():
        return None
    return last_stored_estate_score()


def last_stored_estate_score() -> ScoreFigures | None:
    """The estate's score as last stored (None before any snapshot)."""
    return _score_figures(_last_snapshots([None]).get(None))


def _mark_due(subscription_ids: Iterable[int], now: datetime) -> None:
    scopes = [SnapshotClock.ESTATE, *sorted(subscription_ids)]
    SnapshotClock.objects.bulk_create([SnapshotClock(scope=scope) for scope in scopes], ignore_conflicts=True)
    SnapshotClock.objects.filter(scope__in=scopes, due_since__isnull=True).update(due_since=now)


LastSnapshot = tuple[datetime, dict[tuple[int | None, int | None], Figures]]


def _last_snapshots(scopes: list[int | None]) -> dict[int | None, LastSnapshot]:
    """Each scope's (None: the estate's) last snapshot: when, and its figures. Two queries."""
    where = Q(subscription_id__in=[s for s in scopes if s is not None])
    if None in scopes:
        where |= Q(subscription__isnull=True)
    moments: dict[int | None, datetime] = {
        row["subscription_id"]: row["last"]
        for row in ScorePoint.objects.filter(where)
        .values("subscription_id")
        .annotate(last=Max("taken_at"))
        .order_by()
    }
    points: dict[int | None, list[ScorePoint]] = defaultdict(list)
    for point in ScorePoint.objects.filter(where, taken_at__in=set(moments.values())):
        if moments.get(point.subscription_id) == point.taken_at:
            points[point.subscription_id].append(point)
    return {scope: (moment, _figures(points[scope])) for scope, moment in moments.items()}


def _score_figures(last: LastSnapshot | None) -> ScoreFigures | None:
    """The secure score of a scope's last snapshot."""
    if last is None:
        return None
    score = [figures for (_, control), figures in last[1].items() if control is None]
    if not score:
        return None
    current, maximum, percentage, *_ = score[0]
    return ScoreFigures(current, maximum, percentage)


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
