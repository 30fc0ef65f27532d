"""Pages of OS security-configuration rules: the overview of failed rules, one rule, and the baseline."""

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from posture.scope import Scope
from recommendations.catalog.baselines import OS_VERSIONS, SERVER_TYPES
from recommendations.models import Benchmark, Rule, RuleSeverity
from recommendations.rule_selectors import (
    BASELINE_COLUMNS,
    FAILED_RULE_COLUMNS,
    NEVER_SCANNED,
    PASSING,
    RESOLVED,
    RULE_TABS,
    OpenSummary,
    RuleCounts,
    RuleFilter,
    RuleTab,
    Tally,
    catalog_rules,
    failed_rules,
    never_scanned_machines,
    open_summary,
    passing_counts,
    rule_counts,
    rule_findings,
    rule_tab_counts,
    rule_types,
    sections,
    tab_columns,
)
from recommendations.selectors import UNKNOWN_OS, os_choices, valid_sort
from web.pages.dashboard import critical_count
from web.pages.rendering import BadFilter, paginate, render_page, render_user_error, scope_query, scoped


def read_rule_filter(
    request: HttpRequest, scope: Scope, types: list[str]
) -> tuple[RuleFilter, Benchmark | None]:
    os = request.GET.get("os", "")
    if os and os not in dict(os_choices()):
        raise BadFilter(f"unknown OS {os!r}: use one of {', '.join(dict(os_choices()))}")
    severity = request.GET.get("severity", "")
    if severity and severity not in RuleSeverity.values:
        raise BadFilter(f"unknown severity {severity!r}: use one of {', '.join(RuleSeverity.values)}")
    rule_type = request.GET.get("rule_type", "")
    if rule_type and rule_type not in types:
        raise BadFilter(f"unknown rule type {rule_type!r}")
    benchmark = None
    raw_benchmark = request.GET.get("benchmark", "")
    if raw_benchmark:
        try:
            benchmark_id = int(raw_benchmark)
        except ValueError:
            raise BadFilter(f"benchmark must be a number, not {raw_benchmark!r}") from None
        benchmark = Benchmark.objects.filter(pk=benchmark_id).first()
        if benchmark is None:
            raise BadFilter(f"there is no benchmark {raw_benchmark}")
    query = request.GET.get("q", "").strip()
    if "\x00" in query:
        raise BadFilter("a search cannot contain a NUL character")
    os_version = request.GET.get("os_version", "")
    if os_version and os_version not in OS_VERSIONS:
        raise BadFilter(f"unknown OS version {os_version!r}: use one of {', '.join(OS_VERSIONS)}")
    server_type = request.GET.get("server_type", "")
    if server_type and server_type not in SERVER_TYPES:
        raise BadFilter(f"unknown server type {server_type!r}: use one of {', '.join(SERVER_TYPES)}")
    section = request.GET.get("section", "")
    if section and not Rule.objects.filter(section=section).exists():
        raise BadFilter(f"no rule is in the section {section!r}")
    filters = RuleFilter(
        scope=scope,
        os=os,
        severity=severity,
        rule_type=rule_type,
        benchmark_id=benchmark.pk if benchmark else None,
        query=query,
        os_version=os_version,
        server_type=server_type,
        section=section,
    )
    return filters, benchmark


def _filter_choices(types: list[str]) -> dict[str, object]:
    return {
        "oses": os_choices(),
        "severities": RuleSeverity.choices,
        "rule_types": types,
        "benchmarks": Benchmark.objects.order_by("title", "version"),
    }


@dataclass(frozen=True)
class FailedRuleRow:
    rule: Rule
    passing: int


@dataclass(frozen=True)
class Tile:
    """A group of open findings on the overview; its link filters the table by `value`."""

    value: str
    label: str
    tally: Tally
    query: QueryDict


def _tiles(summary: OpenSummary, scope: Scope) -> dict[str, list[Tile]]:
    def tile(name: str, value: str, label: str, tally: Tally) -> Tile:
        query = scope_query(scope)
        query[name] = value
        return Tile(value, label, tally, query)

    oses = [tile("os", value, label, summary.by_os.get(value, Tally())) for value, label in os_choices()]
    types = sorted(summary.by_rule_type.items(), key=lambda item: (-item[1].failed, item[0]))
    return {
        # Unknown shows only when some failing rule names no OS.
        "os_tiles": [t for t in oses if t.value != UNKNOWN_OS or t.tally.failed],
        "severity_tiles": [
            tile("severity", value, label, summary.by_severity[value])
            for value, label in RuleSeverity.choices
        ],
        "rule_type_tiles": [tile("rule_type", value, value, tally) for value, tally in types],
    }


@require_safe
@scoped
def os_config_overview(request: HttpRequest, scope: Scope) -> HttpResponse:
    types = rule_types()
    try:
        filters, _ = read_rule_filter(request, scope, types)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    sort = valid_sort(request.GET.get("sort"), FAILED_RULE_COLUMNS, default="-severity")
    page_obj = paginate(request, failed_rules(filters, sort))
    passing = passing_counts((rule.pk for rule in page_obj), scope)
    summary = open_summary(scope)
    context = {
        "nav": "os-config",
        "summary": summary,
        "critical_count": critical_count(summary),
        **_tiles(summary, scope),
        "filters": filters,
        "filtered": filters != RuleFilter(scope),
        "page_obj": page_obj,
        "rows": [FailedRuleRow(rule, passing.get(rule.pk, 0)) for rule in page_obj],
        "columns": FAILED_RULE_COLUMNS,
        "sort": sort,
        **_filter_choices(types),
    }
    return render_page(request, "recommendations/os_config.html", context, scope)


def _references(rule: Rule) -> list[tuple[str, list[str]]]:
    """The rule's references grouped by source, in the order the benchmark gives them."""
    grouped: dict[str, list[str]] = {}
    for reference in rule.references if isinstance(rule.references, list) else []:
        if isinstance(reference, dict):
            source = str(reference.get("source", "")).strip()
            grouped.setdefault(source, []).append(str(reference.get("ref", "")))
    return list(grouped.items())


@require_safe
@scoped
def rule_detail(request: HttpRequest, scope: Scope, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule.objects.select_related("benchmark"), pk=pk)
    tab: RuleTab = next((t for t in RULE_TABS if t.key == request.GET.get("tab")), RULE_TABS[0])
    columns = tab_columns(tab)
    sort = valid_sort(request.GET.get("sort"), columns)
    rows: Page[Any] = (
        paginate(request, never_scanned_machines(rule, scope, sort))
        if tab == NEVER_SCANNED
        else paginate(request, rule_findings(rule, scope=scope, tab=tab, sort=sort))
    )
    counts = rule_tab_counts(rule, scope)
    context = {
        "nav": "os-config",
        "rule": rule,
        "references": _references(rule),
        "tabs": [(t.key, t.label, counts[t.key]) for t in RULE_TABS if t != RESOLVED],
        "counts": counts,
        "tab": tab,
        # The resolved view is a part of the passing tab.
        "shown_tab": PASSING.key if tab == RESOLVED else tab.key,
        "page_obj": rows,
        "columns": columns,
        "sort": sort,
    }
    return render_page(request, "recommendations/rule_detail.html", context, scope)


@dataclass(frozen=True)
class BaselineRow:
    rule: Rule
    counts: RuleCounts


@require_safe
@scoped
def baseline(request: HttpRequest, scope: Scope) -> HttpResponse:
    types = rule_types()
    try:
        filters, benchmark = read_rule_filter(request, scope, types)
    except BadFilter as error:
        return render_user_error(request, error, 400)
    sort = valid_sort(request.GET.get("sort"), BASELINE_COLUMNS, default="key")
    page_obj = paginate(request, catalog_rules(filters, sort))
    counts = rule_counts(page_obj, scope)
    context = {
        "nav": "baseline",
        "filters": filters,
        "filtered": filters != RuleFilter(scope),
        "benchmark": benchmark,
        "os_versions": OS_VERSIONS,
        "server_types": SERVER_TYPES,
        "sections": sections(),
        "page_obj": page_obj,
        "rows": [BaselineRow(rule, counts[rule.pk]) for rule in page_obj],
        "columns": BASELINE_COLUMNS,
        "sort": sort,
        **_filter_choices(types),
    }
    return render_page(request, "recommendations/baseline.html", context, scope)
