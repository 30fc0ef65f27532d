"""Keeps the finding tallies current: exact per machine, incremental per rule, rebuildable from scratch."""

from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count

from posture.models import Resource
from recommendations.models import Finding, FindingState, MachineTally, RuleTally

PASSING = (FindingState.PASSED, FindingState.RESOLVED)


def _columns(state: str | None) -> tuple[int, int, int]:
    """(open, passing, evaluated) contributed by one finding in this state (None: no finding)."""
    if state is None:
        return (0, 0, 0)
    return (int(state == FindingState.OPEN), int(state in PASSING), 1)


RuleKey = tuple[int, str, int]  # (subscription, machine OS, rule)


def rule_deltas(
    subscription_id: int, machine_os: str, changes: Iterable[tuple[int, str | None, str]]
) -> dict[RuleKey, tuple[int, int, int]]:
    """What one machine's (rule, state before, state after) changes move in the rule tallies."""
    deltas: dict[RuleKey, tuple[int, int, int]] = {}
    for rule_id, before, after in changes:
        old, new = _columns(before), _columns(after)
        delta = (new[0] - old[0], new[1] - old[1], new[2] - old[2])
        if any(delta):
            deltas[(subscription_id, machine_os, rule_id)] = delta
    return deltas


def apply_rule_changes(resource: Resource, changes: Iterable[tuple[int, str | None, str]]) -> None:
    """Move one machine's (rule, state before, state after) changes into the rule tallies."""
    add_rule_deltas(rule_deltas(resource.subscription_id, resource.os, changes))


def merge_deltas(
    into: dict[RuleKey, tuple[int, int, int]], more: dict[RuleKey, tuple[int, int, int]]
) -> None:
    for key, (a, b, c) in more.items():
        x, y, z = into.get(key, (0, 0, 0))
        into[key] = (x + a, y + b, z + c)


def add_rule_deltas(deltas: dict[RuleKey, tuple[int, int, int]]) -> None:
    """Add to the rule tallies (many machines' changes summed first: one row per key)."""
    deltas = {key: delta for key, delta in deltas.items() if any(delta)}
    if not deltas:
        return
    table = connection.ops.quote_name(RuleTally._meta.db_table)
    rows = [(sub, rule, machine_os, *delta) for (sub, machine_os, rule), delta in deltas.items()]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            # An increment in one statement, so that concurrent imports add up instead of overwriting;
            # many rows a statement, since a fleet's batch moves thousands of keys.
            cursor.execute(
                f"""INSERT INTO {table} (subscription_id, rule_id, machine_os, open_count, passing_count,
                                         evaluated_count)
                    VALUES {", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))}
                    ON CONFLICT (subscription_id, rule_id, machine_os) DO UPDATE SET
                        open_count = {table}.open_count + excluded.open_count,
                        passing_count = {table}.passing_count + excluded.passing_count,
                        evaluated_count = {table}.evaluated_count + excluded.evaluated_count""",  # noqa: S608
                [value for row in chunk for value in row],
            )


def _machine_contribution(resource_id: int) -> dict[int, tuple[int, int, int]]:
    rows = Finding.objects.filter(resource_id=resource_id).values_list("rule_id", "state")
    return {rule_id: _columns(state) for rule_id, state in rows}


def move_machine(
    resource_id: int, *, old_subscription_id: int, old_os: str, new_subscription_id: int, new_os: str
) -> None:
    """A machine changed subscription or OS: its findings now count under the new key."""
    contribution = _machine_contribution(resource_id)
    deltas = {(old_subscription_id, old_os, r): (-a, -b, -c) for r, (a, b, c) in contribution.items()}
    merge_deltas(deltas, {(new_subscription_id, new_os, r): counts for r, counts in contribution.items()})
    add_rule_deltas(deltas)


def refresh_machine_tally(resource_id: int) -> None:
    refresh_machine_tallies([resource_id])


def refresh_machine_tallies(resource_ids: Iterable[int]) -> None:
    """Recount machines' open findings by severity, rule type and rule OS (one grouped query)."""
    ids = list(resource_ids)
    by_severity: dict[int, Counter[str]] = {pk: Counter() for pk in ids}
    by_type: dict[int, Counter[str]] = {pk: Counter() for pk in ids}
    by_os: dict[int, Counter[str]] = {pk: Counter() for pk in ids}
    for chunk in _chunks(ids):
        rows = (
            Finding.objects.filter(resource_id__in=chunk, state=FindingState.OPEN)
            .values_list("resource_id", "rule__severity", "rule__rule_type", "rule__os")
            .annotate(n=Count("id"))
            .order_by()
        )
        for resource_id, severity, rule_type, rule_os, n in rows:
            by_severity[resource_id][severity] += n
            by_type[resource_id][rule_type] += n
            by_os[resource_id][rule_os] += n
    MachineTally.objects.bulk_create(
        [
            MachineTally(
                resource_id=pk,
                open_count=sum(by_severity[pk].values()),
                by_severity=dict(by_severity[pk]),
                by_rule_type=dict(by_type[pk]),
                by_rule_os=dict(by_os[pk]),
            )
            for pk in ids
        ],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["resource"],
        update_fields=["open_count", "by_severity", "by_rule_type", "by_rule_os"],
    )


def _chunks(ids: list[int], size: int = 1000) -> Iterable[list[int]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


@transaction.atomic
def rebuild_tallies() -> None:
    """Recompute every tally from the findings (after a bulk change, or to check the incremental ones)."""
    RuleTally.objects.all().delete()
    totals: dict[tuple[int, str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = (
        Finding.objects.values_list("resource__subscription_id", "resource__os", "rule_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for subscription_id, machine_os, rule_id, state, n in rows:
        columns = _columns(state)
        total = totals[(subscription_id, machine_os, rule_id)]
        for index in range(3):
            total[index] += columns[index] * n
    RuleTally.objects.bulk_create(
        [
            RuleTally(
                subscription_id=subscription_id,
                machine_os=machine_os,
                rule_id=rule_id,
                open_count=counts[0],
                passing_count=counts[1],
                evaluated_count=counts[2],
            )
            for (subscription_id, machine_os, rule_id), counts in totals.items()
        ],
        batch_size=5000,
    )
    MachineTally.objects.all().delete()
    refresh_machine_tallies(Finding.objects.values_list("resource_id", flat=True).distinct().order_by())
