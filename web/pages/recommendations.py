"""The recommendation page: what it checks, how to fix it, and its Unhealthy / Healthy / N/A tabs."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from posture.models import Workspace
from posture.scope import Scope
from recommendations.evaluators.agents import KEYS as AGENT_KEYS
from recommendations.models import AssessmentStatus, Recommendation
from recommendations.selectors import (
    ASSESSMENT_COLUMNS,
    recommendation_assessments,
    status_counts,
    valid_sort,
)
from web.access import ACCESS, allows
from web.pages.rendering import paginate, render_page, scoped

# Defender's order of the tabs; an unknown `?tab=` shows the first.
TABS = (AssessmentStatus.UNHEALTHY, AssessmentStatus.HEALTHY, AssessmentStatus.NOT_APPLICABLE)


@require_safe
@scoped
def recommendation_detail(request: HttpRequest, scope: Scope, key: str) -> HttpResponse:
    recommendation = get_object_or_404(Recommendation, key=key)
    tab = request.GET.get("tab", "")
    if tab not in TABS:
        tab = AssessmentStatus.UNHEALTHY
    sort = valid_sort(request.GET.get("sort"), ASSESSMENT_COLUMNS)
    counts = status_counts(recommendation, scope)
    assessments = recommendation_assessments(recommendation, scope=scope, status=tab, sort=sort)
    context = {
        "nav": "dashboard",
        "recommendation": recommendation,
        "controls": recommendation.controls.order_by("position", "name"),
        "tabs": [(status.value, status.label, counts[status]) for status in TABS],
        "tab": tab,
        "tab_label": AssessmentStatus(tab).label,
        "page_obj": paginate(request, assessments),
        "columns": ASSESSMENT_COLUMNS,
        "sort": sort,
        # The agent recommendations' Quick fix: install commands for the selected unhealthy machines.
        "quick_fix": recommendation.key in AGENT_KEYS
        and tab == AssessmentStatus.UNHEALTHY
        and allows(ACCESS["agent-install-commands"], request.user),
        "workspaces": Workspace.objects.order_by("name"),
        # The route table says who exempts (analysts and admins): the link shows exactly for them.
        "may_exempt": allows(ACCESS["exemption-create"], request.user),
    }
    return render_page(request, "recommendations/recommendation_detail.html", context, scope)
