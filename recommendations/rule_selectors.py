"""Reads behind the OS-configuration pages: failed rules in a scope, one rule's machines, the baseline
catalog with its counts, and one machine's findings and scans.

Counts are aggregates grouped over the rows a page shows, never a query per row, read from the summary
tables: the estate's, or a tower's for its members (a user of several towers is counted from the
findings of the machines they see).
A rule's OS, severity and type are the catalog's (Rule), so the tiles, the filters and the table rows
agree with each other.
"Machines" are the kinds a scan describes (VMs, Arc machines, scale-set instances); a machine counts
toward a rule's "never scanned" when it runs the rule's OS (any OS for a rule without one) and has no
finding for the rule at all.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Sum, Value, When

from posture.models import MACHINE_KINDS, Resource
from posture.scope import Scope
from recommendations.models import (
    Finding,
    FindingState,
    MachineTally,
    ResultValue,
    Rule,
    RuleTally,
    Scan,
    ScanResult,
    TowerRuleTally,
    TowerTileTally,
)
from recommendations.models.rules import SEVERITY_RANK, RuleSeverity
from recommendations.selectors import UNKNOWN_OS, SortColumn, in_scope, ordering, tallies_in_scope

PASSING_STATES = (FindingState.PASSED, FindingState.RESOLVED)
SCAN_HISTORY_LENGTH = 50


@dataclass(frozen=True)
class RuleFilter:
    scope: Scope
    os: str = ""
    severity: str = ""
    rule_type: str = ""
    benchmark_id: int | None = None
    query: str = ""
    # A published baseline's facts: one OS version (WS2019), server type or section.
    os_version: str = ""
    server_type: str = ""
    section: str = ""
    # Only findings on machines of these kinds (an OS-configuration recommendation's machines).
    kinds: tuple[str, ...] = ()


def severity_rank(field: str = "severity") -> Case:
    """Critical 5 ... unknown 0, so that severity sorts by weight rather than alphabetically."""
    whens = [When(**{field: severity}, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _rule_condition(filters: RuleFilter, prefix: str = "") -> Q:
    """The filters on Rule fields; prefix "rule__" applies them to findings."""
    condition = Q()
    if filters.os:
        condition &= Q(**{f"{prefix}os": "" if filters.os == UNKNOWN_OS else filters.os})
    if filters.severity:
        condition &= Q(**{f"{prefix}severity": filters.severity})
    if filters.rule_type:
        condition &= Q(**{f"{prefix}rule_type": filters.rule_type})
    if filters.benchmark_id is not None:
        condition &= Q(**{f"{prefix}benchmark_id": filters.benchmark_id})
    if filters.os_version:
        condition &= Q(**{f"{prefix}os_versions__contains": f",{filters.os_version},"})
    if filters.server_type:
        condition &= Q(**{f"{prefix}server_types__contains": f",{filters.server_type},"})
    if filters.section:
        condition &= Q(**{f"{prefix}section": filters.section})
    if filters.query:
        condition &= (
            Q(**{f"{prefix}key__icontains": filters.query})
            | Q(**{f"{prefix}rule_id__icontains": filters.query})
            | Q(**{f"{prefix}title__icontains": filters.query})
            | Q(**{f"{prefix}key_path__icontains": filters.query})
        )
    return condition


# What the rule tables show: the long texts (description, fix scripts, references) stay in the database.
LISTED_FIELDS = ("key", "cce", "rule_id", "title", "severity", "rule_type", "os", "expected", "benchmark")
# A published baseline's facts, shown beside a machine's failed rules (blank for other rules).
BASELINE_FIELDS = ("group_policy_path", "group_policy_value", "key_path", "references")
FINDING_FIELDS = ("resource", "rule", "state", "result", "expected", "actual", "first_seen", "resolved_at")


def _subscriptions(scope: Scope, field: str) -> Q:
    """The scope's subscriptions, as a condition on a tally's subscription at `field`."""
    return Q() if scope.subscription_ids is None else Q(**{f"{field}__in": scope.subscription_ids})


def rule_types() -> list[str]:
    """Every rule type in the catalog, for the filters."""
    return list(Rule.objects.order_by("rule_type").values_list("rule_type", flat=True).distinct())


def sections() -> list[str]:
    """Every section of the published baselines' rules, for the filters."""
    named = Rule.objects.exclude(section="").order_by("section")
    return list(named.values_list("section", flat=True).distinct())


# The baseline as a GPO administrator's checklist (exports): the rule's facts, no machine data.
CHECKLIST_FIELDS = (
    "key", "title", "section", "group_policy_path", "group_policy_value", "key_path", "expected",
    "severity", "value_type", "os_versions", "server_types", "os",
)  # fmt: skip


def checklist_rules(filters: RuleFilter, sort: str = "key") -> QuerySet[Rule]:
    return (
        Rule.objects.filter(_rule_condition(filters))
        .annotate(severity_rank=severity_rank())
        .only(*CHECKLIST_FIELDS)
        .order_by(*ordering(sort, BASELINE_COLUMNS))
    )


# The overview: rules with open findings in scope.

FAILED_RULE_COLUMNS = (
    SortColumn("key", "CCE ID", ("key",)),
    SortColumn("title", "Name", ("title", "key")),
    SortColumn("rule_type", "Rule type", ("rule_type", "key")),
    SortColumn("machines", "Machines failing", ("machines", "key")),
    SortColumn("severity", "Severity", ("severity_rank", "machines", "key")),
)


def failed_rules(filters: RuleFilter, sort: str = "-severity") -> QuerySet[Rule]:
    """Rules failing on machines in scope, each with `machines` (open findings) and `severity_rank`."""
    # The conditions sit in the same filter() as the join they constrain, and the aggregate follows it.
    tower = filters.scope.tower
    if tower is not None:
        # A tower's members: from their tower's rule tallies (of some kinds of machine, if asked).
        kinds = Q(tower_tallies__machine_kind__in=filters.kinds) if filters.kinds else Q()
        rules = Rule.objects.filter(
            _rule_condition(filters),
            _subscriptions(filters.scope, "tower_tallies__subscription_id"),
            kinds,
            tower_tallies__tower_id=tower,
            tower_tallies__open_count__gt=0,
        ).annotate(machines=Sum("tower_tallies__open_count"))
    elif filters.scope.is_restricted:
        # A user of several towers: from the open findings of the machines they see.
        kinds = Q(findings__resource__kind__in=filters.kinds) if filters.kinds else Q()
        rules = Rule.objects.filter(
            _rule_condition(filters),
            in_scope(filters.scope, "findings__resource__subscription_id"),
            kinds,
            findings__state=FindingState.OPEN,
        ).annotate(machines=Count("findings"))
    else:
        # From the rule tallies (one row per subscription, machine OS and kind), not from the findings.
        kinds = Q(tallies__machine_kind__in=filters.kinds) if filters.kinds else Q()
        rules = Rule.objects.filter(
            _rule_condition(filters),
            tallies_in_scope(filters.scope, "tallies__subscription_id"),
            kinds,
            tallies__open_count__gt=0,
        ).annotate(machines=Sum("tallies__open_count"))
    return (
        rules.annotate(severity_rank=severity_rank())
        .only(*LISTED_FIELDS)
        .order_by(*ordering(sort, FAILED_RULE_COLUMNS))
    )


def failing_rule_count(filters: RuleFilter) -> int:
    """How many rules `failed_rules` lists. Where it counts findings (a user of several towers), each
    rule is asked whether it has one open finding in scope instead of every open finding being grouped."""
    if filters.scope.tower is not None or not filters.scope.is_restricted:
        return failed_rules(filters).count()  # from the tallies: rows per rule, not per finding
    kinds = Q(resource__kind__in=filters.kinds) if filters.kinds else Q()
    open_in_scope = Finding.objects.filter(
        in_scope(filters.scope, "resource__subscription_id"),
        kinds,
        rule_id=OuterRef("pk"),
        state=FindingState.OPEN,
    )
    return Rule.objects.filter(_rule_condition(filters), Exists(open_in_scope)).count()


@dataclass(frozen=True)
class Tally:
    """Open findings (failed machine x rule pairs) and the machines they are on."""

    failed: int = 0
    machines: int = 0


@dataclass(frozen=True)
class OpenSummary:
    total: Tally
    by_os: dict[str, Tally]
    by_severity: dict[str, Tally]
    by_rule_type: dict[str, Tally]


def open_summary(scope: Scope) -> OpenSummary:
    """The overview's headline and tiles: open findings in scope by OS, severity and rule type."""
    if scope.tower is not None:
        return _tower_open_summary(scope.tower, scope)
    # Summed by the database from the machine tallies (one small row per machine with open findings):
    # reading 10,000 tallies' JSON into Python took 0.28 s of a page at fleet size.
    machines = MachineTally.objects.filter(in_scope(scope, "resource__subscription_id"), open_count__gt=0)
    inner, params = machines.values("pk").query.sql_with_params()
    table = connection.ops.quote_name(MachineTally._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COALESCE(SUM(t.open_count), 0), COUNT(*) FROM {table} t
                WHERE t.resource_id IN ({inner})""",  # noqa: S608
            params,
        )
        failed, machine_count = cursor.fetchone()

        def tallies(column: str) -> dict[str, Tally]:
            if connection.vendor == "postgresql":
                each, value = f"jsonb_each_text(t.{column}) AS j(key, value)", "j.value::integer"
            else:
                each, value = f"json_each(t.{column}) AS j", "j.value"
            cursor.execute(
                f"""SELECT j.key, SUM({value}), COUNT(*) FROM {table} t, {each}
                    WHERE t.resource_id IN ({inner}) GROUP BY j.key ORDER BY j.key""",  # noqa: S608
                params,
            )
            return {key: Tally(int(n), int(m)) for key, n, m in cursor.fetchall()}

        by_os, by_severity, by_type = tallies("by_rule_os"), tallies("by_severity"), tallies("by_rule_type")
    return OpenSummary(
        total=Tally(int(failed), int(machine_count)),
        by_os={(os or UNKNOWN_OS): tally for os, tally in by_os.items()},
        by_severity={severity: by_severity.get(severity, Tally()) for severity in RuleSeverity.values},
        by_rule_type=by_type,
    )


def _tower_open_summary(tower: int, scope: Scope) -> OpenSummary:
    """A tower's tiles, from its tile tallies (rows per subscription and tile, whatever its size)."""
    rows = (
        TowerTileTally.objects.filter(_subscriptions(scope, "subscription_id"), tower_id=tower)
        .values_list("tile", "key")
        .annotate(failed=Sum("failed"), machines=Sum("machines"))
        .filter(machines__gt=0)
        .order_by("tile", "key")
    )
    tiles: dict[str, dict[str, Tally]] = defaultdict(dict)
    for tile, key, failed, machines in rows:
        tiles[tile][key] = Tally(int(failed), int(machines))
    by_severity = tiles[TowerTileTally.SEVERITY]
    return OpenSummary(
        total=tiles[TowerTileTally.TOTAL].get("", Tally()),
        by_os={(os or UNKNOWN_OS): tally for os, tally in tiles[TowerTileTally.OS].items()},
        by_severity={severity: by_severity.get(severity, Tally()) for severity in RuleSeverity.values},
        by_rule_type=tiles[TowerTileTally.RULE_TYPE],
    )


@dataclass(frozen=True)
class RuleTotals:
    """Machines failing a rule, passing it, and scanned for it while running its OS."""

    failing: int = 0
    passing: int = 0
    scanned: int = 0


def _rule_totals(rule_ids: Iterable[int], scope: Scope) -> dict[int, RuleTotals]:
    """Per rule, in scope: from the rule tallies, or from the findings when the scope hides machines."""
    rows: Iterable[Mapping[str, Any]]
    if scope.is_restricted and scope.tower is None:
        # A user of several towers: the tallies cannot tell a machine two of them see, the findings can.
        rows = (
            Finding.objects.filter(in_scope(scope, "resource__subscription_id"), rule_id__in=list(rule_ids))
            .values("rule_id")
            .annotate(
                failing=Count("id", filter=Q(state=FindingState.OPEN)),
                passing=Count("id", filter=Q(state__in=PASSING_STATES)),
                scanned=Count("id", filter=_applies()),
            )
            .order_by()
        )
    else:
        # A tower's members: their tower's rule tallies; else the estate's.
        tallies: QuerySet[RuleTally] | QuerySet[TowerRuleTally] = (
            TowerRuleTally.objects.filter(_subscriptions(scope, "subscription_id"), tower_id=scope.tower)
            if scope.tower is not None
            else RuleTally.objects.filter(tallies_in_scope(scope, "subscription_id"))
        )
        rows = (
            tallies.filter(rule_id__in=list(rule_ids))
            .values("rule_id")
            .annotate(
                failing=Sum("open_count"),
                passing=Sum("passing_count"),
                scanned=Sum("evaluated_count", filter=Q(rule__os="") | Q(machine_os=F("rule__os"))),
            )
            .order_by()
        )
    return {
        row["rule_id"]: RuleTotals(row["failing"] or 0, row["passing"] or 0, row["scanned"] or 0)
        for row in rows
    }


def passing_counts(rule_ids: Iterable[int], scope: Scope) -> dict[int, int]:
    """Machines in scope passing each rule (passed, or failed once and resolved), for a page of rules."""
    return {
        rule_id: totals.passing for rule_id, totals in _rule_totals(rule_ids, scope).items() if totals.passing
    }


# The baseline: the whole catalog, and for a page of it the machines failing, passing, never scanned.

BASELINE_COLUMNS = (
    SortColumn("key", "CCE ID", ("key",)),
    SortColumn("title", "Name", ("title", "key")),
    SortColumn("os", "OS", ("os", "key")),
    SortColumn("benchmark", "Benchmark", ("benchmark__title", "benchmark__version", "key")),
    SortColumn("severity", "Severity", ("severity_rank", "key")),
    SortColumn("rule_type", "Rule type", ("rule_type", "key")),
)


def catalog_rules(filters: RuleFilter, sort: str = "key") -> QuerySet[Rule]:
    return (
        Rule.objects.filter(_rule_condition(filters))
        .select_related("benchmark")
        .annotate(severity_rank=severity_rank())
        .only(*LISTED_FIELDS, "section", "benchmark__title", "benchmark__version", "benchmark__benchmark_id")
        .order_by(*ordering(sort, BASELINE_COLUMNS))
    )


@dataclass(frozen=True)
class RuleCounts:
    failing: int = 0
    passing: int = 0
    never_scanned: int = 0


def _machines(scope: Scope) -> QuerySet[Resource]:
    return Resource.objects.filter(in_scope(scope, "subscription_id"), kind__in=MACHINE_KINDS)


def _applies() -> Q:
    """On Finding rows: the machine runs the rule's OS, or the rule names none."""
    return Q(rule__os="") | Q(resource__os=F("rule__os"))


def rule_counts(rules: Iterable[Rule], scope: Scope) -> dict[int, RuleCounts]:
    """Failing, passing and never-scanned machines in scope for these rules: two grouped queries."""
    rules = list(rules)
    found = _rule_totals((rule.pk for rule in rules), scope)
    machines_by_os = dict(_machines(scope).values_list("os").annotate(n=Count("id")).order_by())
    every_machine = sum(machines_by_os.values())
    counts = {}
    for rule in rules:
        totals = found.get(rule.pk, RuleTotals())
        in_reach = machines_by_os.get(rule.os, 0) if rule.os else every_machine
        counts[rule.pk] = RuleCounts(totals.failing, totals.passing, in_reach - totals.scanned)
    return counts


# One rule: its machines by state.


@dataclass(frozen=True)
class RuleTab:
    key: str
    label: str
    states: tuple[str, ...]


FAILING = RuleTab("failing", "Failing", (FindingState.OPEN,))
PASSING = RuleTab("passing", "Passing", PASSING_STATES)
RESOLVED = RuleTab("resolved", "Resolved", (FindingState.RESOLVED,))
NOT_EVALUATED = RuleTab("not_evaluated", "Not evaluated", (FindingState.NOT_EVALUATED,))
NOT_APPLICABLE = RuleTab("not_applicable", "Not applicable", (FindingState.NOT_APPLICABLE,))
NEVER_SCANNED = RuleTab("never_scanned", "Never scanned", ())
# Resolved is a part of passing, reached from the passing tab and from the overview's counts.
RULE_TABS = (FAILING, PASSING, RESOLVED, NOT_EVALUATED, NOT_APPLICABLE, NEVER_SCANNED)

RULE_FINDING_COLUMNS = (
    SortColumn("name", "Machine", ("resource__name",)),
    SortColumn("subscription", "Subscription", ("resource__subscription__name", "resource__name")),
    SortColumn("actual", "Actual value", ("actual", "resource__name")),
    SortColumn("expected", "Expected value", ("expected", "resource__name")),
    SortColumn("first_seen", "First seen", ("first_seen", "resource__name")),
    SortColumn("last_seen", "Last seen", ("last_seen", "resource__name")),
    SortColumn("scanned_at", "Scan time", ("scan__scanned_at", "resource__name")),
)
PASSING_FINDING_COLUMNS = (
    *RULE_FINDING_COLUMNS,
    SortColumn("state", "State", ("state", "resource__name")),
    SortColumn("resolved_at", "Resolved", ("resolved_at", "resource__name")),
)
NEVER_SCANNED_COLUMNS = (
    SortColumn("name", "Machine", ("name",)),
    SortColumn("subscription", "Subscription", ("subscription__name", "name")),
    SortColumn("kind", "Kind", ("kind", "name")),
    SortColumn("os", "OS", ("os", "name")),
)


def tab_columns(tab: RuleTab) -> tuple[SortColumn, ...]:
    if tab == NEVER_SCANNED:
        return NEVER_SCANNED_COLUMNS
    if tab in (PASSING, RESOLVED):
        return PASSING_FINDING_COLUMNS
    return RULE_FINDING_COLUMNS


def rule_tab_counts(rule: Rule, scope: Scope) -> dict[str, int]:
    """Machines in scope on each of the rule's tabs."""
    rows = (
        Finding.objects.filter(in_scope(scope, "resource__subscription_id"), rule=rule)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_state = dict(rows)
    counts = {tab.key: sum(by_state.get(state, 0) for state in tab.states) for tab in RULE_TABS}
    counts[NEVER_SCANNED.key] = never_scanned_machines(rule, scope).count()
    return counts


def rule_findings(rule: Rule, *, scope: Scope, tab: RuleTab, sort: str = "name") -> QuerySet[Finding]:
    """One tab of a rule: its findings in those states, with machine, subscription and scan."""
    return (
        Finding.objects.filter(in_scope(scope, "resource__subscription_id"), rule=rule, state__in=tab.states)
        .select_related("resource__subscription", "scan")
        .order_by(*ordering(sort, tab_columns(tab)))
    )


def never_scanned_machines(rule: Rule, scope: Scope, sort: str = "name") -> QuerySet[Resource]:
    """Machines in scope that run the rule's OS and have no finding for the rule."""
    machines = _machines(scope)
    if rule.os:
        machines = machines.filter(os=rule.os)
    scanned = Finding.objects.filter(resource=OuterRef("pk"), rule=rule)
    return (
        machines.filter(~Exists(scanned))
        .select_related("subscription")
        .order_by(*ordering(sort, NEVER_SCANNED_COLUMNS))
    )


# One machine: its findings and scans.


def machine_state_counts(resource: Resource) -> dict[str, int]:
    """The machine's findings by state (open, resolved, passed, not evaluated, not applicable)."""
    rows = Finding.objects.filter(resource=resource).values_list("state").annotate(n=Count("id")).order_by()
    counts = dict.fromkeys(FindingState.values, 0)
    counts.update(dict(rows))
    return counts


def machine_findings(resource: Resource, state: str) -> QuerySet[Finding]:
    """The machine's findings in one state with their rule, most severe first."""
    return (
        Finding.objects.filter(resource=resource, state=state)
        .select_related("rule")
        .only(*FINDING_FIELDS, *(f"rule__{name}" for name in (*LISTED_FIELDS, *BASELINE_FIELDS)))
        .annotate(severity_rank=severity_rank("rule__severity"))
        .order_by("-severity_rank", "rule__key", "pk")
    )


@dataclass(frozen=True)
class ScanRow:
    scan: Scan
    # Rules whose latest result up to this scan (of every scan of the machine) is a fail: what the
    # findings said right after this scan, counted as recommendations.findings derives them.
    open_after: int


def machine_scans(resource: Resource, limit: int = SCAN_HISTORY_LENGTH) -> tuple[list[ScanRow], int]:
    """The machine's latest scans (newest first) with the findings open after each, and how many in all."""
    order = list(
        Scan.objects.filter(resource=resource).order_by(*Scan.OLDEST_FIRST).values_list("pk", flat=True)
    )
    # Only rules that ever failed on the machine can be open after some scan. Filtering on the scan ids
    # (not on the join) keeps to the (scan, rule) index, whatever the size of the fleet.
    ever_failed = ScanResult.objects.filter(scan_id__in=order, result=ResultValue.FAIL).values("rule_id")
    results: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for scan_id, rule_id, result in ScanResult.objects.filter(
        scan_id__in=order, rule_id__in=ever_failed
    ).values_list("scan_id", "rule_id", "result"):
        results[scan_id].append((rule_id, result))
    latest: dict[int, str] = {}
    open_after: dict[int, int] = {}
    for scan_id in order:
        latest.update(results.get(scan_id, ()))
        open_after[scan_id] = sum(1 for result in latest.values() if result == ResultValue.FAIL)
    shown = Scan.objects.filter(resource=resource).order_by(*Scan.NEWEST_FIRST)[:limit]
    return [ScanRow(scan, open_after[scan.pk]) for scan in shown], len(order)
