"""The findings stage: machines that moved take their findings' tallies along, and the new scans'
results become findings, round after round.

A machine whose new scan is newer than all it had gets its findings advanced from the stored ones (see
`recommendations.findings.advance`); any other machine (an older scan arriving late) has its findings
derived from its whole history. Scans of later rounds are stored already but not counted yet, so a
machine scanned twice in a batch ends as if its files had come one after the other.
"""

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Max
from django.utils import timezone

from intake.persist.bulk import insert_rows, upsert_rows
from intake.stages import Move, NewScan
from recommendations.findings import FINDING_FIELDS, Latest, advance, count_transition, refresh_findings
from recommendations.models import Finding, Scan
from recommendations.tallies import (
    TallyChanges,
    move_machine,
    refresh_machine_tallies,
    write_tally_changes,
)

# What a scan's results changed: findings opened, resolved and reopened, by scan id.
Changes = dict[int, Counter[str]]


def derive_findings(moves: list[Move], rounds: list[list[NewScan]]) -> Changes:
    """Move the moved machines' tallies, then derive the findings of each round's scans; returns what
    each scan changed."""
    for move in moves:
        move_machine(
            move.resource_id,
            old_subscription_id=move.old_subscription_id,
            old_os=move.old_os,
            old_kind=move.old_kind,
            new_subscription_id=move.new_subscription_id,
            new_os=move.new_os,
            new_kind=move.new_kind,
        )
    changes: Changes = {}
    for number, round_ in enumerate(rounds):
        # The scans of the rounds after this one, by machine (only a machine scanned again has some).
        later: dict[int, set[int]] = defaultdict(set)
        for scan in (scan for next_round in rounds[number + 1 :] for scan in next_round):
            later[scan.resource.pk].add(scan.scan_id)
        changes.update(_derive_round(round_, later))
    return changes


def _derive_round(batch: list[NewScan], later: dict[int, set[int]]) -> Changes:
    """Advance the findings of machines whose new scan is their newest; re-derive the others'. Each
    machine has one scan in the round; `later` are its machines' scans of the rounds after it."""
    changes: Changes = {scan.scan_id: Counter() for scan in batch}
    machines = {scan.resource.pk for scan in batch}
    excluded = {scan.scan_id for scan in batch}.union(*later.values())
    newest = _newest_earlier_scan(machines, excluded)
    appendable = [
        scan
        for scan in batch
        # Strictly newer: a scan taken at the same moment as a stored one is ordered among them by its
        # file's hash (refresh_findings), not appended because it arrived last.
        if newest.get(scan.resource.pk) is None or scan.scanned_at > newest[scan.resource.pk]
    ]
    # Every machine's stored findings, scanned before or not: findings outlive the scans they came
    # from (a scan deleted), and a first scan must update them, not insert them again.
    previous = _stored_findings([scan.resource.pk for scan in appendable])
    now = timezone.now()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    tally_changes = TallyChanges()
    slow: list[NewScan] = []
    for scan in appendable:
        resource = scan.resource
        mine = previous.get(resource.pk, {})
        advanced = [
            (rule_id, mine.get(rule_id), advance(mine.get(rule_id), row)) for rule_id, row in scan.rows
        ]
        if any(values is None for _, _, values in advanced):
            slow.append(scan)
            continue
        transitions: list[tuple[int, str | None, str]] = []
        for rule_id, before, values in advanced:
            assert values is not None
            after = str(values["state"])
            count_transition(changes[scan.scan_id], before.state if before else None, after)
            row = (resource.pk, rule_id, *(values[name] for name in FINDING_FIELDS), values["scan_id"], now)
            (inserts if before is None else updates).append(row)
            if (before.state if before else None) != after:
                transitions.append((rule_id, before.state if before else None, after))
        tally_changes.add(resource.pk, resource.subscription_id, resource.os, resource.kind, transitions)
    columns = ["resource_id", "rule_id", *FINDING_FIELDS, "scan_id", "updated_at"]
    insert_rows(Finding, columns, inserts)
    upsert_rows(Finding, columns, updates, unique=["resource_id", "rule_id"])
    write_tally_changes(tally_changes)
    refresh_machine_tallies({scan.resource.pk for scan in appendable} - {scan.resource.pk for scan in slow})
    done = {scan.scan_id for scan in appendable}
    slow += [scan for scan in batch if scan.scan_id not in done]
    for scan in slow:
        changes[scan.scan_id].update(
            refresh_findings(
                resource_id=scan.resource.pk,
                rule_ids=[rule_id for rule_id, _ in scan.rows],
                excluding_scans=later.get(scan.resource.pk, ()),
            )
        )
    return changes


def _newest_earlier_scan(machines: set[int], excluded: set[int]) -> dict[int, datetime]:
    rows = (
        Scan.objects.filter(resource_id__in=machines)
        .exclude(pk__in=excluded)
        .values("resource_id")
        .annotate(newest=Max("scanned_at"))
        .order_by()
    )
    return {row["resource_id"]: row["newest"] for row in rows}


def _stored_findings(machines: list[int]) -> dict[int, dict[int, Latest]]:
    found: dict[int, dict[int, Latest]] = defaultdict(dict)
    if not machines:
        return found
    rows = Finding.objects.filter(resource_id__in=machines).values_list(
        "resource_id", "rule_id", "state", "result", "first_seen", "resolved_at"
    )
    for resource_id, rule_id, state, result, first_seen, resolved_at in rows.iterator(chunk_size=20000):
        found[resource_id][rule_id] = Latest(state, result, first_seen, resolved_at)
    return found
