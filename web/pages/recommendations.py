"""The recommendation page: what it checks, how to fix it, its Unhealthy / Healthy / N/A tabs with each
resource's reason and item (team, owner, due date), a search and a CSV export of a tab, and, for the
OS-configuration recommendations, the failed rules across their machines (Defender's security checks)."""

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit.trail import client_ip
from governance.affected import affected_csv_chunks, with_items
from governance.findings import KINDS_OF_KEY
from posture.errors import UserError
from posture.models import Workspace
from posture.scope import Scope
from recommendations.evaluators.agents import KEYS as AGENT_KEYS
from recommendations.models import Assessment, AssessmentStatus, Recommendation
from recommendations.rule_selectors import FAILED_RULE_COLUMNS, RuleFilter, failed_rules, failing_rule_count
from recommendations.selectors import (
    ASSESSMENT_COLUMNS,
    SortColumn,
    ordering,
    recommendation_assessments,
    status_counts,
    valid_sort,
)
from web.access import ACCESS, allows
from web.pages.rendering import BadFilter, paginate, render_page, render_user_error, scope_of, scoped

# Defender's order of the tabs; an unknown `?tab=` shows the first. The OS-configuration
# recommendations add the failed rules across their machines.
TABS = (AssessmentStatus.UNHEALTHY, AssessmentStatus.HEALTHY, AssessmentStatus.NOT_APPLICABLE)
RULES_TAB = "rules"
# The resources' columns, with their item's owner and due date (annotated by governance.affected).
COLUMNS = (
    *ASSESSMENT_COLUMNS,
    SortColumn("team", "Team", ("item_team", "resource__name")),
    SortColumn("owner", "Owner", ("item_owner", "resource__name")),
    SortColumn("due", "Due date", ("item_due", "resource__name")),
)


def _query(request: HttpRequest) -> str:
    query = request.GET.get("q", "").strip()
    if "\x00" in query:
        raise BadFilter("a name cannot contain a NUL character")
    return query


def _tab(request: HttpRequest, recommendation: Recommendation) -> str:
    tab = request.GET.get("tab", "")
    if tab == RULES_TAB and recommendation.key in KINDS_OF_KEY:
        return tab
    return tab if tab in TABS else AssessmentStatus.UNHEALTHY


def _affected(
    request: HttpRequest, recommendation: Recommendation, scope: Scope, tab: str, query: str, sort: str
) -> QuerySet[Assessment]:
    assessments = recommendation_assessments(recommendation, scope=scope, status=tab, query=query)
    return with_items(assessments, request.user).order_by(*ordering(sort, COLUMNS))


@require_safe
@scoped
def recommendation_detail(request: HttpRequest, scope: Scope, key: str) -> HttpResponse:
    recommendation = get_object_or_404(Recommendation, key=key)
    try:
        query = _query(request)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    tab = _tab(request, recommendation)
    counts = status_counts(recommendation, scope)
    tabs = [(status.value, status.label, counts[status]) for status in TABS]
    kinds = KINDS_OF_KEY.get(recommendation.key)
    context: dict[str, object] = {}
    if kinds is not None:
        failing = failing_rule_count(RuleFilter(scope, kinds=kinds))
        if tab == RULES_TAB:
            sort = valid_sort(request.GET.get("sort"), FAILED_RULE_COLUMNS, default="-severity")
            searched = RuleFilter(scope, kinds=kinds, query=query)
            rules = failed_rules(searched, sort)
            shown = failing if not query else failing_rule_count(searched)
            context.update(page_obj=paginate(request, rules, shown), columns=FAILED_RULE_COLUMNS, sort=sort)
        tabs.append((RULES_TAB, "Failed rules", failing))
    if tab != RULES_TAB:
        sort = valid_sort(request.GET.get("sort"), COLUMNS)
        affected = _affected(request, recommendation, scope, tab, query, sort)
        context.update(page_obj=paginate(request, affected), columns=COLUMNS, sort=sort)
    context.update(
        {
            "nav": "dashboard",
            "recommendation": recommendation,
            "controls": recommendation.controls.order_by("position", "name"),
            "tabs": tabs,
            "tab": tab,
            "tab_label": {value: label for value, label, _ in tabs}[tab],
            "query": query,
            # The OS-configuration recommendations: their critical findings in one click.
            "critical_export": kinds is not None,
            # The agent recommendations' Quick fix: install commands for the selected unhealthy machines.
            "quick_fix": recommendation.key in AGENT_KEYS
            and tab == AssessmentStatus.UNHEALTHY
            and allows(ACCESS["agent-install-commands"], request.user),
            "workspaces": Workspace.objects.order_by("name"),
            # The route table says who exempts (analysts and admins): the link shows exactly for them.
            "may_exempt": allows(ACCESS["exemption-create"], request.user),
        }
    )
    return render_page(request, "recommendations/recommendation_detail.html", context, scope)


@require_safe
def recommendation_export_csv(request: HttpRequest, key: str) -> HttpResponseBase:
    """One tab of the recommendation's resources (its search and sort too) as CSV, streamed; the scope
    as `scoped` reads it (a streamed response is not the HttpResponse `scoped` wraps)."""
    try:
        scope = scope_of(request)
    except UserError as error:
        return render_user_error(request, error, 404)
    recommendation = get_object_or_404(Recommendation, key=key)
    try:
        query = _query(request)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    tab = _tab(request, recommendation)
    if tab == RULES_TAB:
        tab = AssessmentStatus.UNHEALTHY
    sort = valid_sort(request.GET.get("sort"), COLUMNS)
    affected = _affected(request, recommendation, scope, tab, query, sort)
    filters = {"status": tab, "q": query, "subscription": request.GET.get("subscription", "")}
    chunks = affected_csv_chunks(
        affected,
        recommendation=recommendation,
        actor=request.user,
        filters={name: value for name, value in filters.items() if value},
        base_url=settings.POSTURE_PUBLIC_URL or request.build_absolute_uri("/"),
        ip=client_ip(request),
    )
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    filename = f"{recommendation.key}-{tab}-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
