"""The score pages: the dashboard (score, controls, subscriptions) and one control's recommendations."""

from dataclasses import dataclass
from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from posture.views import render_page, scoped
from recommendations.models import Recommendation
from recommendations.selectors import ResourceFilter, ResourceState, filtered_resources, recommendations_by_id
from scoring.engine import ControlScore, RecommendationScore, Scope, SubscriptionScore, compute_score


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


@dataclass(frozen=True)
class RecommendationRow:
    score: RecommendationScore
    recommendation: Recommendation


@require_safe
@scoped
def dashboard(request: HttpRequest, scope: Scope) -> HttpResponse:
    report = compute_score(scope)
    rows = [ControlRow.of(control) for control in report.controls]
    unhealthy_anywhere = ResourceFilter(scope, state=ResourceState.UNHEALTHY)
    context = {
        "nav": "dashboard",
        "report": report,
        "score_percent": percent(report.percentage),
        "unhealthy_resources": filtered_resources(unhealthy_anywhere).count(),
        "controls": [row for row in rows if row.assessed],
        "unassessed_controls": [row for row in rows if not row.assessed],
        "subscriptions": [SubscriptionRow(sub, percent(sub.percentage)) for sub in report.subscriptions],
        # The ring shows the percentage in its centre: across subscriptions that is the weighted
        # formula's, which is not current / max points.
        "chart": {"percent": float(percent(report.percentage)), "empty": report.max == 0},
    }
    return render_page(request, "scoring/dashboard.html", context, scope)


@require_safe
@scoped
def control_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    report = compute_score(scope)
    control = next((c for c in report.controls if c.id == pk), None)
    if control is None:
        raise Http404("No such control.")
    catalog = recommendations_by_id(rec.id for rec in control.recommendations)
    context = {
        "nav": "dashboard",
        "control": ControlRow.of(control),
        "recommendations": [RecommendationRow(rec, catalog[rec.id]) for rec in control.recommendations],
        "has_uncounted": any(not rec.counted for rec in control.recommendations),
    }
    return render_page(request, "scoring/control_detail.html", context, scope)
