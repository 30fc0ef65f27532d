"""The score document of `manage.py score --json` and `GET /api/v1/score/` (formats/score-json.md)."""

from decimal import Decimal
from typing import Any

from scoring.engine import ScoreReport


def _number(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def secure_score(current: Decimal, maximum: int, percentage: Decimal) -> dict[str, Any]:
    """The document's `secure_score`: also what an import job reports before and after it ran."""
    return {"current": _number(current), "max": maximum, "percentage": _number(percentage)}


def score_document(report: ScoreReport) -> dict[str, Any]:
    return {
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
            }
            for sub in report.subscriptions
        ],
    }
