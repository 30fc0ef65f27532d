"""Defender's reported score beside Posture's: the reconciliation of one subscription.

Defender's figures are whole-subscription ones, so they are shown only for a scope of exactly one
subscription seen whole: never across subscriptions (Defender's management-group figure is not
exported), never to a tower's members (their scope hides resources, and the reported counts would
disclose other towers' machines). A difference beyond rounding (0.01 points) is flagged; for the
control "Remediate security configurations" Posture's counted resources are listed with what may make
Posture's count differ from Defender's (its own evidence, an exemption, a grace period).
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from posture.scope import Scope
from recommendations.evaluators.verdicts import EVIDENCE_SOURCES
from recommendations.models import Assessment, AssessmentStatus
from scoring.engine import ControlScore, ScoreReport
from scoring.models import Control, ReportedScore

TOLERANCE = Decimal("0.01")
EXPLAINED_CONTROL = "Remediate security configurations"
MOST_ROWS = 200


@dataclass(frozen=True)
class ReportedControl:
    """One control: Defender's figures and Posture's."""

    name: str
    control_id: int | None  # the catalog's control, when Defender's is known to it
    reported_current: Decimal
    reported_max: int
    reported_percentage: Decimal
    reported_healthy: int
    reported_unhealthy: int
    reported_not_applicable: int
    current: Decimal
    max: int
    healthy: int
    unhealthy: int

    @property
    def differs(self) -> bool:
        return abs(self.current - self.reported_current) > TOLERANCE or self.max != self.reported_max

    @property
    def counts_differ(self) -> bool:
        return (self.healthy, self.unhealthy) != (self.reported_healthy, self.reported_unhealthy)


@dataclass(frozen=True)
class ResourceRow:
    """A resource Posture counts in the explained control, and why Defender may count it otherwise."""

    name: str
    resource_id: str
    state: str  # healthy / unhealthy / not counted
    note: str
    may_differ: bool

    @property
    def listed(self) -> bool:
        """Counted by Posture, or left out for a reason Defender does not share."""
        return self.state != "not counted" or self.may_differ


@dataclass
class Reconciliation:
    subscription: str
    imported_at: datetime
    # Defender's score (None when only its controls were imported) and Posture's.
    reported_current: Decimal | None
    reported_max: int | None
    reported_percentage: Decimal | None
    current: Decimal
    max: int
    percentage: Decimal
    controls: list[ReportedControl] = field(default_factory=list)
    explained: ReportedControl | None = None
    rows: list[ResourceRow] = field(default_factory=list)
    rows_total: int = 0

    @property
    def differs(self) -> bool:
        score_differs = self.reported_current is not None and (
            abs(self.current - self.reported_current) > TOLERANCE or self.max != self.reported_max
        )
        return score_differs or any(control.differs for control in self.controls)


@dataclass(frozen=True)
class ReportedFigure:
    """Defender's score of one subscription, for the rows of a list of subscriptions."""

    current: Decimal
    max: int
    percentage: Decimal
    imported_at: datetime

    def differs_from(self, current: Decimal, maximum: int) -> bool:
        return abs(current - self.current) > TOLERANCE or maximum != self.max


def reported_by_subscription(scope: Scope, subscription_ids: list[int]) -> dict[int, ReportedFigure]:
    """Defender's score of each of these subscriptions that has one; none for a tower's members."""
    if scope.is_restricted or not subscription_ids:
        return {}
    rows = ReportedScore.objects.filter(subscription_id__in=subscription_ids, control_key="")
    return {
        row.subscription_id: ReportedFigure(row.current, row.max, row.percentage, row.imported_at)
        for row in rows
    }


def reconcile(scope: Scope, report: ScoreReport) -> Reconciliation | None:
    """Defender's reported figures beside Posture's for this scope, or None when it has none (or may not
    be shown them: see the module's docstring)."""
    if scope.is_restricted or scope.subscription_ids is None or len(scope.subscription_ids) != 1:
        return None
    (subscription_id,) = scope.subscription_ids
    found = ReportedScore.objects.filter(subscription_id=subscription_id)
    reported = list(found.select_related("subscription", "control"))
    if not reported:
        return None
    score = next((row for row in reported if not row.control_key), None)
    posture = {control.id: control for control in report.controls}
    result = Reconciliation(
        subscription=reported[0].subscription.name,
        imported_at=max(row.imported_at for row in reported),
        reported_current=score.current if score else None,
        reported_max=score.max if score else None,
        reported_percentage=score.percentage if score else None,
        current=report.current,
        max=report.max,
        percentage=report.percentage,
    )
    for row in sorted((row for row in reported if row.control_key), key=lambda row: row.display_name):
        ours = posture.get(row.control_id) if row.control_id else None
        control = _control(row, ours)
        result.controls.append(control)
        if row.control is not None and row.control.name == EXPLAINED_CONTROL:
            result.explained = control
            result.rows, result.rows_total = _explaining_rows(subscription_id, row.control)
    return result


def _control(row: ReportedScore, ours: ControlScore | None) -> ReportedControl:
    return ReportedControl(
        name=row.control.name if row.control else row.display_name,
        control_id=row.control_id,
        reported_current=row.current,
        reported_max=row.max,
        reported_percentage=row.percentage,
        reported_healthy=row.healthy,
        reported_unhealthy=row.unhealthy,
        reported_not_applicable=row.not_applicable,
        current=ours.current if ours else Decimal(0),
        max=ours.max if ours else 0,
        healthy=ours.healthy if ours else 0,
        unhealthy=ours.unhealthy if ours else 0,
    )


def _explaining_rows(subscription_id: int, control: Control) -> tuple[list[ResourceRow], int]:
    """Posture's resources in the control, each with its state as the engine counts it and what
    could make Defender's differ; those that may differ first. Returns the first MOST_ROWS and the
    total."""
    assessments = Assessment.objects.filter(
        resource__subscription_id=subscription_id, recommendation__controls=control
    )
    if not settings.POSTURE_COUNT_PREVIEW:
        assessments = assessments.exclude(recommendation__preview=True)
    today = timezone.localdate()  # as the engine's grace periods
    by_resource: dict[int, list[dict[str, object]]] = {}
    for values in assessments.values(
        "resource_id",
        "resource__name",
        "resource__resource_id",
        "status",
        "source",
        "held_status",
        "grace_until",
        "recommendation__display_name",
    ).order_by("resource__name", "recommendation__display_name"):
        by_resource.setdefault(values["resource_id"], []).append(dict(values))
    rows = [row for row in (_row(found, today) for found in by_resource.values()) if row.listed]
    rows.sort(key=lambda row: (not row.may_differ, row.name))
    return rows[:MOST_ROWS], len(rows)


def _row(assessments: list[dict[str, object]], today: date) -> ResourceRow:
    notes: list[str] = []
    counted = []
    for a in assessments:
        recommendation = str(a["recommendation__display_name"])
        grace = a["grace_until"]
        if a["status"] == AssessmentStatus.UNHEALTHY and isinstance(grace, date) and grace >= today:
            notes.append(f"unhealthy for {recommendation!r}, in its grace period until {grace}: not counted")
            continue
        if a["held_status"]:
            notes.append(f"exempted in Posture from {recommendation!r} (was {a['held_status']})")
        elif a["source"] in EVIDENCE_SOURCES and a["status"] != AssessmentStatus.NOT_APPLICABLE:
            notes.append(f"{recommendation!r} decided by Posture's own evidence ({a['source']})")
        if a["status"] in (AssessmentStatus.HEALTHY, AssessmentStatus.UNHEALTHY):
            counted.append(a["status"])
    if not counted:
        state = "not counted"
    elif AssessmentStatus.UNHEALTHY in counted:
        state = "unhealthy"
    else:
        state = "healthy"
    first = assessments[0]
    return ResourceRow(
        name=str(first["resource__name"]),
        resource_id=str(first["resource__resource_id"]),
        state=state,
        note="; ".join(notes) or "no difference Posture knows of",
        may_differ=bool(notes),
    )
