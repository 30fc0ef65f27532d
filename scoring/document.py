"""The score document of `manage.py score --json` and `GET /api/v1/score/` (formats/score-json.md)."""

from decimal import Decimal
from typing import Any

from posture.scope import Scope
from scoring.engine import ScoreReport
from scoring.reported import Reconciliation, ReportedFigure, reconcile, reported_by_subscription


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def secure_score(current: Decimal, maximum: int, percentage: Decimal) -> dict[str, Any]:
    """The document's `secure_score`: also what an import job reports before and after it ran."""
    return {"current": _number(current), "max": maximum, "percentage": _number(percentage)}


def score_document(
    report: ScoreReport,
    reconciliation: Reconciliation | None = None,
    figures: dict[int, ReportedFigure] | None = None,
) -> dict[str, Any]:
    """The document; with `reported` (Defender's own figures beside Posture's) when the scope has them,
    and each subscription's `reported` score (`figures`: scoring/reported.py) when it has one."""
    figures = figures or {}
    document = {
        "scope": {"subscription": report.scope.label},
        "secure_score": secure_score(report.current, report.max, report.percentage),
        "controls": [
            {
                "name": control.name,
                "max": control.max,
                "current": _number(control.current),
                "percentage": _number(control.percentage),
                "healthy": control.healthy,
                "unhealthy": control.unhealthy,
                "not_applicable": control.not_applicable,
                "recommendations": [
                    {
                        "key": rec.key,
                        "assessment_key": rec.assessment_key,
                        "name": rec.name,
                        "preview": rec.preview,
                        "healthy": rec.healthy,
                        "unhealthy": rec.unhealthy,
                        "not_applicable": rec.not_applicable,
                        "potential_increase": _number(rec.potential_increase),
                    }
                    for rec in control.recommendations
                ],
            }
            for control in report.controls
        ],
        "subscriptions": [
            {
                "name": sub.name,
                "cloud": sub.cloud,
                "id": sub.native_id,
                "current": _number(sub.current),
                "max": sub.max,
                "percentage": _number(sub.percentage),
                "weight": sub.weight,
                **({"reported": _figure(figures[sub.id], sub.current, sub.max)} if sub.id in figures else {}),
            }
            for sub in report.subscriptions
        ],
    }
    if reconciliation is not None:
        document["reported"] = reported_document(reconciliation)
    return document


def scope_document(scope: Scope, report: ScoreReport) -> dict[str, Any]:
    """The document of `score --json` and the API: the report with Defender's reported figures the
    scope may show (scoring/reported.py)."""
    figures = reported_by_subscription(scope, [sub.id for sub in report.subscriptions])
    return score_document(report, reconcile(scope, report), figures)


def _figure(figure: ReportedFigure, current: Decimal, maximum: int) -> dict[str, Any]:
    return {
        "current": _number(figure.current),
        "max": figure.max,
        "percentage": _number(figure.percentage),
        "differs": figure.differs_from(current, maximum),
    }


def _optional(value: Decimal | None) -> float | int | None:
    return None if value is None else _number(value)


def reported_document(rec: Reconciliation) -> dict[str, Any]:
    """`reported`: Defender's figures as its export said, when imported, and whether Posture differs."""
    return {
        "source": "Defender for Cloud secure score export",
        "imported_at": rec.imported_at.isoformat(),
        "current": _optional(rec.reported_current),
        "max": rec.reported_max,
        "percentage": _optional(rec.reported_percentage),
        "differs": rec.differs,
        "tolerance": 0.01,
        "controls": [
            {
                "name": control.name,
                "current": _number(control.reported_current),
                "max": control.reported_max,
                "percentage": _number(control.reported_percentage),
                "healthy": control.reported_healthy,
                "unhealthy": control.reported_unhealthy,
                "not_applicable": control.reported_not_applicable,
                "posture": {
                    "current": _number(control.current),
                    "max": control.max,
                    "healthy": control.healthy,
                    "unhealthy": control.unhealthy,
                },
                "differs": control.differs,
            }
            for control in rec.controls
        ],
        "explanation": None
        if rec.explained is None
        else {
            "control": rec.explained.name,
            "healthy": {"posture": rec.explained.healthy, "defender": rec.explained.reported_healthy},
            "unhealthy": {"posture": rec.explained.unhealthy, "defender": rec.explained.reported_unhealthy},
            "resources_total": rec.rows_total,
            "resources": [
                {
                    "name": row.name,
                    "resource_id": row.resource_id,
                    "state": row.state,
                    "note": row.note,
                    "may_differ": row.may_differ,
                }
                for row in rec.rows
            ],
        },
    }
