"""Findings derived from scan results: one per machine x rule, from every scan of the machine in time order.

Deriving them from the stored results (instead of patching the previous state) makes the outcome
independent of the order in which scan files arrive: an older scan imported late changes nothing a
newer one decided. Two scans of a machine taken at the same moment are ordered by their file's SHA-256
(the file that holds them, unique per machine), not by when they arrived.
"""

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from posture.models import Resource
from recommendations.models import Finding, FindingState, ResultValue, Scan, ScanResult
from recommendations.tallies import apply_rule_changes, refresh_machine_tally

PASSING = {ResultValue.PASS, ResultValue.FIXED}
NOT_EVALUATED = {ResultValue.ERROR, ResultValue.UNKNOWN}


@dataclass(frozen=True)
class ResultRow:
    scan_id: int
    scanned_at: datetime
    result: str
    severity: str
    expected: str
    actual: str


def _derive(rows: list[ResultRow]) -> dict[str, object]:
    """The finding's fields from one rule's results on one machine, oldest first."""
    latest = rows[-1]
    fails = [row for row in rows if row.result == ResultValue.FAIL]
    first_seen = fails[0].scanned_at if fails else None
    resolved_at = None
    if latest.result == ResultValue.FAIL:
        state = FindingState.OPEN
    elif fails and latest.result not in NOT_EVALUATED:
        # Failed once, now passes (or no longer applies): resolved by the first scan after the last fail.
        state = FindingState.RESOLVED
        last_fail_index = max(i for i, row in enumerate(rows) if row.result == ResultValue.FAIL)
        resolved_at = rows[last_fail_index + 1].scanned_at
    elif latest.result in PASSING:
        state = FindingState.PASSED
    elif latest.result in NOT_EVALUATED:
        state = FindingState.NOT_EVALUATED
    else:
        state = FindingState.NOT_APPLICABLE
    return {
        "state": state,
        "result": latest.result,
        "severity": latest.severity,
        "expected": latest.expected,
        "actual": latest.actual,
        "first_seen": first_seen,
        "last_seen": latest.scanned_at,
        "resolved_at": resolved_at,
        "scan_id": latest.scan_id,
    }


@dataclass(frozen=True)
class Latest:
    """What a stored finding remembers of its history: enough to append a newer result to it."""

    state: str
    result: str
    first_seen: datetime | None
    resolved_at: datetime | None


def advance(previous: Latest | None, row: ResultRow) -> dict[str, object] | None:
    """The finding's fields once a result newer than all before is appended: `_derive` of the longer
    history, from the stored finding alone. None when that needs the history itself (a failed rule that
    went unevaluated and now passes: the finding does not keep when the first result after the fail was)."""
    ever_failed = previous is not None and previous.first_seen is not None
    first_seen = previous.first_seen if previous is not None and previous.first_seen else None
    resolved_at = None
    if row.result == ResultValue.FAIL:
        state = FindingState.OPEN
        first_seen = first_seen or row.scanned_at
    elif ever_failed and row.result not in NOT_EVALUATED:
        assert previous is not None
        state = FindingState.RESOLVED
        if previous.result == ResultValue.FAIL:
            resolved_at = row.scanned_at
        elif previous.state == FindingState.RESOLVED:
            resolved_at = previous.resolved_at
        else:
            return None
    elif row.result in PASSING:
        state = FindingState.PASSED
    elif row.result in NOT_EVALUATED:
        state = FindingState.NOT_EVALUATED
    else:
        state = FindingState.NOT_APPLICABLE
    return {
        "state": state,
        "result": row.result,
        "severity": row.severity,
        "expected": row.expected,
        "actual": row.actual,
        "first_seen": first_seen,
        "last_seen": row.scanned_at,
        "resolved_at": resolved_at,
        "scan_id": row.scan_id,
    }


def count_transition(counts: MutableMapping[str, int], before: str | None, after: str) -> None:
    if after == FindingState.OPEN and before == FindingState.RESOLVED:
        counts["findings_reopened"] += 1
    elif after == FindingState.OPEN and before != FindingState.OPEN:
        counts["findings_opened"] += 1
    elif after == FindingState.RESOLVED and before == FindingState.OPEN:
        counts["findings_resolved"] += 1


def refresh_findings(
    *, resource_id: int, rule_ids: Iterable[int], excluding_scans: Collection[int] = ()
) -> Counter[str]:
    """Re-derive the machine's findings for these rules; count what opened, resolved and reopened.
    `excluding_scans` are stored scans whose results do not count yet (later files of an import)."""
    rule_ids = list(rule_ids)
    history: dict[int, list[ResultRow]] = defaultdict(list)
    scans = Scan.objects.filter(resource_id=resource_id).exclude(pk__in=list(excluding_scans))
    rows = (
        # By the machine's scan ids first, so the (scan, rule) index answers: filtering on the join
        # lets the planner walk every machine's results of these rules, which grows with the fleet.
        ScanResult.objects.filter(
            scan_id__in=list(scans.values_list("id", flat=True)),
            rule_id__in=rule_ids,
        )
        .order_by("rule_id", *(f"scan__{name}" for name in Scan.OLDEST_FIRST))
        .values_list("rule_id", "scan_id", "scan__scanned_at", "result", "severity", "expected", "actual")
    )
    for rule_id, scan_id, scanned_at, result, severity, expected, actual in rows:
        history[rule_id].append(ResultRow(scan_id, scanned_at, result, severity, expected, actual))
    existing = {f.rule_id: f for f in Finding.objects.filter(resource_id=resource_id, rule_id__in=rule_ids)}
    counts: Counter[str] = Counter(findings_opened=0, findings_resolved=0, findings_reopened=0)
    now = timezone.now()
    changed: list[Finding] = []
    transitions: list[tuple[int, str | None, str]] = []
    for rule_id, rule_rows in history.items():
        values = _derive(rule_rows)
        finding = existing.get(rule_id)
        before = finding.state if finding else None
        after = str(values["state"])
        count_transition(counts, before, after)
        if before != after:
            transitions.append((rule_id, before, after))
        if finding is None or any(getattr(finding, name) != value for name, value in values.items()):
            changed.append(Finding(resource_id=resource_id, rule_id=rule_id, updated_at=now, **values))
    # One INSERT ... ON CONFLICT for new and changed findings alike: every rescan touches most of a
    # machine's findings (last seen, scan), and a per-row UPDATE (or bulk_update's CASE) is far slower.
    Finding.objects.bulk_create(
        changed,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["resource", "rule"],
        update_fields=[*FINDING_FIELDS, "scan", "updated_at"],
    )
    resource = Resource.objects.only("subscription_id", "os").get(pk=resource_id)
    apply_rule_changes(resource, transitions)
    refresh_machine_tally(resource_id)
    return counts


FINDING_FIELDS = (
    "state",
    "result",
    "severity",
    "expected",
    "actual",
    "first_seen",
    "last_seen",
    "resolved_at",
)
