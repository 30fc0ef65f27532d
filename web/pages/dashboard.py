"""The score pages: the dashboard (score, controls, subscriptions, the charts and their CSVs) and one
control's recommendations."""

import csv
from dataclasses import dataclass
from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.http import require_safe

from governance.exports import neutralise_cell
from governance.findings import CRITICAL_SEVERITIES
from posture.scope import Scope
from recommendations.cloud_finding_selectors import scope_other_findings
from recommendations.models import Recommendation
from recommendations.rule_selectors import OpenSummary, open_summary
from recommendations.selectors import ResourceFilter, ResourceState, filtered_resources, recommendations_by_id
from scoring import charts
from scoring.engine import ControlScore, RecommendationScore, ScoreReport, SubscriptionScore, compute_score
from scoring.history import TREND_DAYS, Trend, history
from scoring.reported import ReportedFigure, reconcile, reported_by_subscription
from web.pages.rendering import BadFilter, render_page, render_user_error, scoped

DEFAULT_TREND_DAYS = 30


def percent(fraction: Decimal) -> Decimal:
    """The engine's fractions (0.8325) as the percent pages show (83.25)."""
    return fraction * 100


@dataclass(frozen=True)
class ControlRow:
    score: ControlScore
    percent: Decimal
    # Defender's "potential score increase" of a control: what remediating all its resources would add.
    potential_increase: Decimal

    @classmethod
    def of(cls, score: ControlScore) -> "ControlRow":
        return cls(score, percent(score.percentage), score.max - score.current)

    @property
    def assessed(self) -> bool:
        return self.score.healthy + self.score.unhealthy + self.score.not_applicable > 0


@dataclass(frozen=True)
class SubscriptionRow:
    score: SubscriptionScore
    percent: Decimal
    reported: ReportedFigure | None = None

    @property
    def reported_percent(self) -> Decimal | None:
        return percent(self.reported.percentage) if self.reported else None

    @property
    def reported_differs(self) -> bool:
        return self.reported is not None and self.reported.differs_from(self.score.current, self.score.max)


@dataclass(frozen=True)
class RecommendationRow:
    score: RecommendationScore
    recommendation: Recommendation


@require_safe
@scoped
def dashboard(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        days = trend_days(request)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    trend = history(scope, days)
    report = compute_score(scope)
    rows = [ControlRow.of(control) for control in report.controls]
    unhealthy_anywhere = ResourceFilter(scope, state=ResourceState.UNHEALTHY)
    reported = reconcile(scope, report)
    figures = reported_by_subscription(scope, [sub.id for sub in report.subscriptions])
    context = {
        "nav": "dashboard",
        "report": report,
        "score_percent": percent(report.percentage),
        # Across subscriptions the percentage is the weighted formula's, not current / max points: the
        # card says so beside the figures, with the points' own share (the controls' rows show that one).
        "weighted": len(report.subscriptions) > 1,
        "points_percent": percent(report.current / report.max) if report.max else Decimal(0),
        "unhealthy_resources": filtered_resources(unhealthy_anywhere).count(),
        "controls": [row for row in rows if row.assessed],
        "unassessed_controls": [row for row in rows if not row.assessed],
        "subscriptions": [
            SubscriptionRow(sub, percent(sub.percentage), figures.get(sub.id)) for sub in report.subscriptions
        ],
        "any_reported": bool(figures),
        # The ring shows the percentage in its centre: across subscriptions that is the weighted
        # formula's, which is not current / max points.
        "chart": {"percent": float(percent(report.percentage)), "empty": report.max == 0},
        "other_findings": scope_other_findings(scope),
        # Defender's own score beside Posture's (one whole subscription only: scoring/reported.py).
        "reported": reported,
        "reported_percent": percent(reported.reported_percentage)
        if reported and reported.reported_percentage is not None
        else None,
        **_chart_context(scope, report, trend, days),
    }
    return render_page(request, "scoring/dashboard.html", context, scope)


def critical_count(summary: OpenSummary) -> int:
    """The critical findings of a scope (what the one-click export holds), from the severity tallies."""
    return sum(summary.by_severity[severity].failed for severity in CRITICAL_SEVERITIES)


def _chart_context(scope: Scope, report: ScoreReport, trend: Trend | None, days: int) -> dict[str, object]:
    summary = open_summary(scope)
    bars = charts.failed_rule_bars(summary)
    tops = charts.top_recommendations(report)
    return {
        "critical_count": critical_count(summary),
        "trend_days": days,
        "trend_day_choices": TREND_DAYS,
        "trend": trend,
        "trend_table": charts.trend_table(trend),
        "trend_chart": charts.trend_chart(trend) if trend else None,
        "failed_rules_table": charts.failed_rules_table(bars),
        "failed_rules_severity_chart": charts.failed_rules_chart(bars, "Severity"),
        "failed_rules_os_chart": charts.failed_rules_chart(bars, "OS"),
        "top_recommendations": tops,
        "top_recommendations_chart": charts.top_recommendations_chart(tops),
    }


def trend_days(request: HttpRequest) -> int:
    """`?days=` of the trend: one of TREND_DAYS."""
    value = request.GET.get("days", "")
    if not value:
        return DEFAULT_TREND_DAYS
    if value not in {str(days) for days in TREND_DAYS}:
        raise BadFilter(f"days must be one of {', '.join(str(days) for days in TREND_DAYS)}")
    return int(value)


# The CSV of each chart: the same figures as its table, escaped as the findings exports are.


def csv_response(filename: str, table: charts.Table) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([neutralise_cell(cell) for cell in table.header])
    writer.writerows([neutralise_cell(cell) for cell in row] for row in table.rows)
    return response


@require_safe
@scoped
def score_trend_csv(request: HttpRequest, scope: Scope) -> HttpResponse:
    try:
        days = trend_days(request)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    trend = history(scope, days)
    if trend is None:
        # Not an empty file that reads as "no change": say why there is none, as the dashboard does.
        why = (
            "The score's history is kept for whole subscriptions, not for your tower's resources: "
            "there is no trend to export for your view."
            if scope.is_restricted
            else "The score's history is kept for all subscriptions and for each subscription, not for a "
            "group: choose one subscription to export its trend."
        )
        return HttpResponseNotFound(why + "\n", content_type="text/plain; charset=utf-8")
    return csv_response(f"score-trend-{days}-days.csv", charts.trend_table(trend))


@require_safe
@scoped
def failed_rules_csv(request: HttpRequest, scope: Scope) -> HttpResponse:
    bars = charts.failed_rule_bars(open_summary(scope))
    return csv_response("failed-rules.csv", charts.failed_rules_table(bars))


@require_safe
@scoped
def top_recommendations_csv(request: HttpRequest, scope: Scope) -> HttpResponse:
    tops = charts.top_recommendations(compute_score(scope))
    return csv_response("top-recommendations.csv", charts.top_recommendations_table(tops))


@require_safe
@scoped
def control_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    report = compute_score(scope)
    control = next((c for c in report.controls if c.id == pk), None)
    if control is None:
        raise Http404("No such control.")
    catalog = recommendations_by_id(rec.id for rec in control.recommendations)
    reported = reconcile(scope, report)
    context = {
        "nav": "dashboard",
        "control": ControlRow.of(control),
        "recommendations": [RecommendationRow(rec, catalog[rec.id]) for rec in control.recommendations],
        "has_uncounted": any(not rec.counted for rec in control.recommendations),
        "reported": next((c for c in reported.controls if c.control_id == pk), None) if reported else None,
    }
    return render_page(request, "scoring/control_detail.html", context, scope)
