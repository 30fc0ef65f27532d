"""Keeps the finding tallies current: exact per machine, incremental per rule (the estate's and each
tower's) and per tile of each tower (the sums of its machines' tallies), rebuildable from scratch."""

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count

from posture.models import Resource
from recommendations.models import (
    Finding,
    FindingState,
    MachineTally,
    RuleTally,
    TowerMachine,
    TowerRuleTally,
    TowerTileTally,
)

PASSING = (FindingState.PASSED, FindingState.RESOLVED)


def _columns(state: str | None) -> tuple[int, int, int]:
    """(open, passing, evaluated) contributed by one finding in this state (None: no finding)."""
    if state is None:
        return (0, 0, 0)
    return (int(state == FindingState.OPEN), int(state in PASSING), 1)


RuleKey = tuple[int, str, str, int]  # (subscription, machine OS, machine kind, rule)
# The columns of a rule tally's key, as RuleKey orders them; a tower's tallies start with the tower.
RULE_KEY = ["subscription_id", "machine_os", "machine_kind", "rule_id"]
TOWER_RULE_KEY = ["tower_id", *RULE_KEY]
Delta = tuple[int, int, int]  # (open, passing, evaluated)


def rule_deltas(
    subscription_id: int,
    machine_os: str,
    machine_kind: str,
    changes: Iterable[tuple[int, str | None, str]],
) -> dict[RuleKey, Delta]:
    """What one machine's (rule, state before, state after) changes move in the rule tallies."""
    deltas: dict[RuleKey, Delta] = {}
    for rule_id, before, after in changes:
        old, new = _columns(before), _columns(after)
        delta = (new[0] - old[0], new[1] - old[1], new[2] - old[2])
        if any(delta):
            deltas[(subscription_id, machine_os, machine_kind, rule_id)] = delta
    return deltas


def merge_deltas(into: dict[Any, Delta], more: dict[Any, Delta]) -> None:
    for key, (a, b, c) in more.items():
        x, y, z = into.get(key, (0, 0, 0))
        into[key] = (x + a, y + b, z + c)


@dataclass
class TallyChanges:
    """Findings' changes, by machine: the estate's rule tallies take them all, each tower's tallies
    those of the machines it sees (write_tally_changes)."""

    by_machine: dict[int, dict[RuleKey, Delta]] = field(default_factory=lambda: defaultdict(dict))

    def add(
        self,
        resource_id: int,
        subscription_id: int,
        machine_os: str,
        machine_kind: str,
        changes: Iterable[tuple[int, str | None, str]],
    ) -> None:
        """One machine's (rule, state before, state after) changes."""
        merge_deltas(
            self.by_machine[resource_id], rule_deltas(subscription_id, machine_os, machine_kind, changes)
        )


def write_tally_changes(changes: TallyChanges) -> None:
    """Add findings' changes to the estate's rule tallies and to the tallies of the towers seeing
    their machines: the one write both kinds of summary go through."""
    estate: dict[RuleKey, Delta] = {}
    for deltas in changes.by_machine.values():
        merge_deltas(estate, deltas)
    _add_deltas(RuleTally, RULE_KEY, estate)
    machines = [pk for pk, deltas in changes.by_machine.items() if deltas]
    towers: dict[tuple[int, int, str, str, int], Delta] = {}
    for chunk in _chunks(machines):
        for resource_id, tower_id in TowerMachine.objects.filter(resource_id__in=chunk).values_list(
            "resource_id", "tower_id"
        ):
            merge_deltas(towers, {(tower_id, *key): d for key, d in changes.by_machine[resource_id].items()})
    _add_deltas(TowerRuleTally, TOWER_RULE_KEY, towers)


def apply_rule_changes(resource: Resource, changes: Iterable[tuple[int, str | None, str]]) -> None:
    """Move one machine's (rule, state before, state after) changes into the rule tallies."""
    tally_changes = TallyChanges()
    tally_changes.add(resource.pk, resource.subscription_id, resource.os, resource.kind, changes)
    write_tally_changes(tally_changes)


RULE_COUNTS = ("open_count", "passing_count", "evaluated_count")


def _add_deltas(
    model: type[models.Model],
    key_columns: list[str],
    deltas: Mapping[Any, tuple[int, ...]],
    counts: tuple[str, ...] = RULE_COUNTS,
) -> None:
    """Add to a tally table (many machines' changes summed first: one row per key)."""
    deltas = {key: delta for key, delta in deltas.items() if any(delta)}
    if not deltas:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join([*key_columns, *counts])
    placeholders = "(" + ", ".join(["%s"] * (len(key_columns) + len(counts))) + ")"
    increments = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counts)
    rows = [(*key, *delta) for key, delta in deltas.items()]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            # An increment in one statement, so that concurrent imports add up instead of overwriting;
            # many rows a statement, since a fleet's batch moves thousands of keys.
            cursor.execute(
                f"""INSERT INTO {table} ({columns}) VALUES {", ".join([placeholders] * len(chunk))}
                    ON CONFLICT ({", ".join(key_columns)}) DO UPDATE SET {increments}""",  # noqa: S608
                [value for row in chunk for value in row],
            )


def _contributions(resource_ids: Iterable[int]) -> dict[int, dict[RuleKey, Delta]]:
    """What each machine's findings count in the rule tallies, under its current subscription, OS and
    kind."""
    found: dict[int, dict[RuleKey, Delta]] = defaultdict(dict)
    for chunk in _chunks(list(resource_ids)):
        rows = Finding.objects.filter(resource_id__in=chunk).values_list(
            "resource_id", "resource__subscription_id", "resource__os", "resource__kind", "rule_id", "state"
        )
        for resource_id, subscription_id, machine_os, kind, rule_id, state in rows.iterator(chunk_size=20000):
            found[resource_id][(subscription_id, machine_os, kind, rule_id)] = _columns(state)
    return found


def move_machine(
    resource_id: int,
    *,
    old_subscription_id: int,
    old_os: str,
    old_kind: str,
    new_subscription_id: int,
    new_os: str,
    new_kind: str,
) -> None:
    """A machine changed subscription, OS or kind: its findings now count under the new key."""
    contribution = {
        rule: counts for (*_, rule), counts in _contributions([resource_id]).get(resource_id, {}).items()
    }
    old = (old_subscription_id, old_os, old_kind)
    deltas = {(*old, r): (-a, -b, -c) for r, (a, b, c) in contribution.items()}
    new = (new_subscription_id, new_os, new_kind)
    merge_deltas(deltas, {(*new, r): counts for r, counts in contribution.items()})
    changes = TallyChanges()
    changes.by_machine[resource_id] = deltas
    write_tally_changes(changes)
    if old_subscription_id != new_subscription_id:
        # Its tiles (its machine tally) now count under the new subscription in each of its towers.
        tiles: dict[TileRow, Tile] = {}
        for tower_id, _, tally in _tower_machine_tallies([resource_id]):
            counted = tile_contribution(tally)
            _merge_tiles(tiles, tower_id, old_subscription_id, counted, -1)
            _merge_tiles(tiles, tower_id, new_subscription_id, counted, 1)
        _add_tiles(tiles)


def place_in_towers(towers_by_machine: Mapping[int, Collection[int]]) -> None:
    """Which towers see each of these machines (none: a machine left out of the mapping is not
    changed); a machine entering or leaving a tower takes its findings into or out of its tallies."""
    stored: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(list(towers_by_machine)):
        for resource_id, tower_id in TowerMachine.objects.filter(resource_id__in=chunk).values_list(
            "resource_id", "tower_id"
        ):
            stored[resource_id].add(tower_id)
    added = [(pk, t) for pk, towers in towers_by_machine.items() for t in set(towers) - stored[pk]]
    removed = [(pk, t) for pk, towers in towers_by_machine.items() for t in stored[pk] - set(towers)]
    if not added and not removed:
        return
    leaving: dict[int, list[int]] = defaultdict(list)
    for pk, tower in removed:
        leaving[tower].append(pk)
    for tower, pks in leaving.items():
        for chunk in _chunks(pks):
            TowerMachine.objects.filter(tower_id=tower, resource_id__in=chunk).delete()
    tiles: dict[TileRow, Tile] = {}
    tallies = _machine_tallies([pk for pk, _ in added + removed])
    for sign, pairs in ((1, added), (-1, removed)):
        for pk, tower in pairs:
            if pk in tallies:
                subscription_id, tally = tallies[pk]
                _merge_tiles(tiles, tower, subscription_id, tile_contribution(tally), sign)
    TowerMachine.objects.bulk_create(
        [TowerMachine(tower_id=tower, resource_id=pk) for pk, tower in added], batch_size=1000
    )
    _move_findings([(tower, pk, 1) for pk, tower in added] + [(tower, pk, -1) for pk, tower in removed])
    _add_tiles(tiles)


def _move_findings(moves: list[tuple[int, int, int]]) -> None:
    """Add (+1) or take out (-1) each (tower, machine)'s findings in the tower's tallies, summed by the
    database (a fleet's first import gives towers thousands of machines of ~700 findings each)."""
    tally, finding, resource = (
        connection.ops.quote_name(m._meta.db_table) for m in (TowerRuleTally, Finding, Resource)
    )
    keys = ", ".join(TOWER_RULE_KEY)
    increments = ", ".join(f"{name} = {tally}.{name} + excluded.{name}" for name in RULE_COUNTS)
    with connection.cursor() as cursor:
        for start in range(0, len(moves), 500):
            chunk = moves[start : start + 500]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"""WITH moved (tower_id, resource_id, sign) AS (VALUES {values})
                    INSERT INTO {tally} ({keys}, {", ".join(RULE_COUNTS)})
                    SELECT m.tower_id, r.subscription_id, r.os, r.kind, f.rule_id,
                           SUM(CASE WHEN f.state = %s THEN m.sign ELSE 0 END),
                           SUM(CASE WHEN f.state IN (%s, %s) THEN m.sign ELSE 0 END),
                           SUM(m.sign)
                    FROM moved m JOIN {resource} r ON r.id = m.resource_id
                    JOIN {finding} f ON f.resource_id = m.resource_id
                    WHERE true
                    GROUP BY m.tower_id, r.subscription_id, r.os, r.kind, f.rule_id
                    ON CONFLICT ({keys})
                    DO UPDATE SET {increments}""",  # noqa: S608
                [*(value for row in chunk for value in row), FindingState.OPEN, *PASSING],
            )


def refresh_machine_tally(resource_id: int) -> None:
    refresh_machine_tallies([resource_id])


def refresh_machine_tallies(resource_ids: Iterable[int]) -> None:
    """Recount machines' open findings by severity, rule type and rule OS (one grouped query)."""
    ids = list(resource_ids)
    # The tower machines' tallies before, to move their towers' tiles by the difference.
    before = _tower_machine_tallies(ids)
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
    tiles: dict[TileRow, Tile] = {}
    for tower_id, subscription_id, tally in before:
        pk = tally.resource_id
        after = MachineTallyRow(pk, sum(by_severity[pk].values()), by_severity[pk], by_type[pk], by_os[pk])
        _merge_tiles(tiles, tower_id, subscription_id, tile_contribution(tally), -1)
        _merge_tiles(tiles, tower_id, subscription_id, tile_contribution(after), 1)
    _add_tiles(tiles)


@dataclass(frozen=True)
class MachineTallyRow:
    """A machine tally's numbers (a machine without a tally: zeros)."""

    resource_id: int
    open_count: int = 0
    by_severity: Mapping[str, int] = field(default_factory=dict)
    by_rule_type: Mapping[str, int] = field(default_factory=dict)
    by_rule_os: Mapping[str, int] = field(default_factory=dict)


TileRow = tuple[int, int, str, str]  # (tower, subscription, tile, key)
Tile = tuple[int, int]  # (open findings, machines)
TALLY_FIELDS = ("resource_id", "open_count", "by_severity", "by_rule_type", "by_rule_os")


def tile_contribution(tally: MachineTallyRow) -> dict[tuple[str, str], Tile]:
    """What one machine's tally counts in the tiles of a tower seeing it: its open findings in each
    tile it has some in, and itself once there (as the overview counted the machine tallies)."""
    if tally.open_count <= 0:
        return {}
    tiles = {(TowerTileTally.TOTAL, ""): (tally.open_count, 1)}
    for tile, counts in (
        (TowerTileTally.OS, tally.by_rule_os),
        (TowerTileTally.SEVERITY, tally.by_severity),
        (TowerTileTally.RULE_TYPE, tally.by_rule_type),
    ):
        tiles.update({(tile, key): (int(n), 1) for key, n in counts.items()})
    return tiles


def _merge_tiles(
    into: dict[TileRow, Tile],
    tower_id: int,
    subscription_id: int,
    tiles: dict[tuple[str, str], Tile],
    sign: int,
) -> None:
    for (tile, key), (failed, machines) in tiles.items():
        row = (tower_id, subscription_id, tile, key)
        old_failed, old_machines = into.get(row, (0, 0))
        into[row] = (old_failed + sign * failed, old_machines + sign * machines)


def _add_tiles(tiles: dict[TileRow, Tile]) -> None:
    _add_deltas(TowerTileTally, ["tower_id", "subscription_id", "tile", "key"], tiles, ("failed", "machines"))


TALLY_COLUMNS = [f"tally__{name}" for name in TALLY_FIELDS[1:]]


def _tally_row(pk: int, columns: tuple[Any, ...]) -> MachineTallyRow:
    """A machine's tally from its columns read through a join (all None: it has none)."""
    open_count, by_severity, by_rule_type, by_rule_os = columns
    return MachineTallyRow(pk, open_count or 0, by_severity or {}, by_rule_type or {}, by_rule_os or {})


def _machine_tallies(resource_ids: list[int]) -> dict[int, tuple[int, MachineTallyRow]]:
    """These machines' subscriptions and tallies (zeros for a machine without one), a query a chunk."""
    found: dict[int, tuple[int, MachineTallyRow]] = {}
    for chunk in _chunks(sorted(set(resource_ids))):
        rows = Resource.objects.filter(pk__in=chunk).values_list("pk", "subscription_id", *TALLY_COLUMNS)
        for pk, subscription_id, *columns in rows:
            found[pk] = (subscription_id, _tally_row(pk, tuple(columns)))
    return found


def _tower_machine_tallies(resource_ids: list[int]) -> list[tuple[int, int, MachineTallyRow]]:
    """(tower, subscription, machine tally) of each of these machines a tower sees, a query a chunk."""
    found: list[tuple[int, int, MachineTallyRow]] = []
    for chunk in _chunks(resource_ids):
        rows = TowerMachine.objects.filter(resource_id__in=chunk).values_list(
            "tower_id", "resource_id", "resource__subscription_id", *(f"resource__{c}" for c in TALLY_COLUMNS)
        )
        for tower_id, pk, subscription_id, *columns in rows:
            found.append((tower_id, subscription_id, _tally_row(pk, tuple(columns))))
    return found


def _chunks(ids: list[int], size: int = 1000) -> Iterable[list[int]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


@transaction.atomic
def rebuild_tallies() -> None:
    """Recompute every tally from the findings (after a bulk change, or to check the incremental ones)."""
    RuleTally.objects.all().delete()
    rows = (
        Finding.objects.values_list(
            "resource__subscription_id", "resource__os", "resource__kind", "rule_id", "state"
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    _create_tallies(RuleTally, RULE_KEY, rows)
    MachineTally.objects.all().delete()
    refresh_machine_tallies(Finding.objects.values_list("resource_id", flat=True).distinct().order_by())
    rebuild_tower_tallies()


def rebuild_tower_tallies() -> None:
    """Recompute every tower's rule tallies from the findings of the machines it sees (TowerMachine),
    and its tiles from their machine tallies."""
    TowerRuleTally.objects.all().delete()
    TowerTileTally.objects.all().delete()
    tiles: dict[TileRow, Tile] = {}
    for tower_id, subscription_id, tally in _tower_machine_tallies(
        list(TowerMachine.objects.values_list("resource_id", flat=True).distinct().order_by())
    ):
        _merge_tiles(tiles, tower_id, subscription_id, tile_contribution(tally), 1)
    _add_tiles(tiles)
    tower, finding, resource = (
        connection.ops.quote_name(m._meta.db_table) for m in (TowerMachine, Finding, Resource)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT t.tower_id, r.subscription_id, r.os, r.kind, f.rule_id, f.state, COUNT(*)
                FROM {tower} t JOIN {resource} r ON r.id = t.resource_id
                JOIN {finding} f ON f.resource_id = t.resource_id
                GROUP BY t.tower_id, r.subscription_id, r.os, r.kind, f.rule_id, f.state"""  # noqa: S608
        )
        _create_tallies(TowerRuleTally, TOWER_RULE_KEY, cursor.fetchall())


def _create_tallies(model: type[models.Model], key_fields: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write the tallies of findings counted by (*key, state, count) rows."""
    totals: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for *key, state, n in rows:
        columns = _columns(state)
        total = totals[tuple(key)]
        for index in range(3):
            total[index] += columns[index] * n
    model._default_manager.bulk_create(
        [
            model(**dict(zip(key_fields, key, strict=True)), **dict(zip(RULE_COUNTS, counts, strict=True)))
            for key, counts in totals.items()
        ],
        batch_size=5000,
    )
