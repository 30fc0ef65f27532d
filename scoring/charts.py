"""The dashboard's charts as data: what each chart draws (Chart.js's `data`, put in the page as JSON),
and the same figures as rows for its table and its CSV."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from recommendations.models.rules import RuleSeverity
from recommendations.rule_selectors import OpenSummary
from recommendations.selectors import os_choices
from scoring.engine import ScoreReport
from scoring.history import Trend

TOP_RECOMMENDATIONS = 10
Cell = str | int | float | Decimal | None


@dataclass(frozen=True)
class Table:
    """A chart's figures: header and rows, numbers and names only."""

    header: list[str]
    rows: list[list[Cell]]


def _moment(value: Any) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def trend_table(trend: Trend | None) -> Table:
    """One row per snapshot: the secure score's percentage, then each control's (None: no history)."""
    if trend is None:
        return Table(header=["Taken at", "Secure score %"], rows=[])
    series = [trend.score, *trend.controls]
    return Table(
        header=["Taken at", *(f"{s.name} %" for s in series)],
        rows=[[_moment(moment), *(s.values[i] for s in series)] for i, moment in enumerate(trend.moments)],
    )


def trend_chart(trend: Trend) -> dict[str, Any]:
    return {
        "labels": [_moment(moment) for moment in trend.moments],
        "datasets": [
            {"label": series.name, "data": series.values, "score": series is trend.score}
            for series in (trend.score, *trend.controls)
        ],
    }


@dataclass(frozen=True)
class FailedRuleBar:
    group: str  # "Severity" or "OS"
    name: str
    failed: int
    machines: int


def failed_rule_bars(summary: OpenSummary) -> list[FailedRuleBar]:
    """Open findings by severity, then by OS, leaving out what has none."""
    os_labels = dict(os_choices())
    bars = [
        FailedRuleBar("Severity", label, tally.failed, tally.machines)
        for value, label in RuleSeverity.choices
        if (tally := summary.by_severity.get(value)) and tally.failed
    ]
    bars += [
        FailedRuleBar("OS", os_labels.get(value) or value, tally.failed, tally.machines)
        for value, tally in summary.by_os.items()
        if tally.failed
    ]
    return bars


def failed_rules_table(bars: list[FailedRuleBar]) -> Table:
    return Table(
        header=["Group", "Name", "Failed rules", "Machines"],
        rows=[[bar.group, bar.name, bar.failed, bar.machines] for bar in bars],
    )


def failed_rules_chart(bars: list[FailedRuleBar], group: str) -> dict[str, Any]:
    """One chart per dimension: the bars of one group ("Severity" or "OS"), never both on one axis."""
    mine = [bar for bar in bars if bar.group == group]
    return {
        # What the bars say, for the canvas's accessible name.
        "summary": ", ".join(f"{bar.name} {bar.failed}" for bar in mine),
        "labels": [bar.name for bar in mine],
        "datasets": [
            {
                "label": f"Failed rules by {group if group == 'OS' else group.lower()}",
                "data": [bar.failed for bar in mine],
            }
        ],
    }


@dataclass(frozen=True)
class TopRecommendation:
    key: str
    name: str
    control: str
    potential_increase: Decimal
    unhealthy: int


def top_recommendations(report: ScoreReport, limit: int = TOP_RECOMMENDATIONS) -> list[TopRecommendation]:
    """The counted recommendations whose remediation would raise the score most, from the report."""
    found = [
        TopRecommendation(rec.key, rec.name, control.name, rec.potential_increase, rec.unhealthy)
        for control in report.controls
        for rec in control.recommendations
        if rec.counted and rec.potential_increase > 0
    ]
    return sorted(found, key=lambda top: (-top.potential_increase, top.name))[:limit]


def top_recommendations_table(tops: list[TopRecommendation]) -> Table:
    return Table(
        header=["Recommendation", "Control", "Potential score increase", "Unhealthy resources"],
        rows=[[top.name, top.control, top.potential_increase, top.unhealthy] for top in tops],
    )


def top_recommendations_chart(tops: list[TopRecommendation]) -> dict[str, Any]:
    return {
        "labels": [top.name for top in tops],
        "datasets": [
            {"label": "Potential score increase", "data": [float(top.potential_increase) for top in tops]}
        ],
    }
