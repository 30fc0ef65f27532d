"""Persists the scans of many files in one transaction, set-based: the fleet case of `persist_scans`.

Every file still imports whole or not at all: files are read and their machines matched before anything
is written, so a file that cannot be imported is reported and left out while the others go in. Machines
whose new scan is newer than all they had get their findings advanced from the stored ones (see
`recommendations.findings.advance`); any other machine (an older scan arriving late, two scans of it in
the batch) has its findings derived from its whole history, exactly as a single import does.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from intake.persist.copy import insert_rows, upsert_rows
from intake.persist.rules import ensure_rules, rule_key, rules_digest, upsert_benchmark, upsert_rules
from intake.persist.scans import NAMELESS, NO_SCANS, add_scan_summaries, dedupe_results, set_os_from_scan
from posture.errors import RejectedFile
from posture.importers.records import RuleRecord, ScanRecord, ScapDocument
from posture.importers.rule_types import short_rule_name, xccdf_rule_type
from posture.matching import MachineEvidence, discover_machine, find_known_machines
from posture.models import Resource
from recommendations.evaluators.os_config import evaluate_os_configuration
from recommendations.findings import (
    FINDING_FIELDS,
    Latest,
    ResultRow,
    advance,
    count_transition,
    refresh_findings,
)
from recommendations.models import Benchmark, Finding, ResultValue, Scan, ScanResult
from recommendations.tallies import (
    RuleKey,
    add_rule_deltas,
    merge_deltas,
    refresh_machine_tallies,
    rule_deltas,
)


@dataclass
class ScanFile:
    """One file's document, read and not yet stored."""

    name: str
    sha256: str
    source: str
    document: ScapDocument


@dataclass
class _Prepared:
    file: ScanFile
    benchmark: Benchmark | None
    rule_ids: dict[str, int]
    cce_of_rule: dict[str, str]
    summary: dict[str, Any]
    resources: list[tuple[Resource, bool]] = field(default_factory=list)


def persist_scan_files(files: Sequence[ScanFile]) -> list[dict[str, Any] | RejectedFile]:
    """Store the scans of every file; per file, its summary (as `persist_scans` gives) or why it was
    rejected. Runs inside the caller's transaction."""
    outcome: list[dict[str, Any] | RejectedFile] = []
    prepared: list[_Prepared] = []
    rules = _catalog_rules([f.document for f in files])
    matches = _match([(f.document.scans, f.source) for f in files])
    # One object per machine, so what the batch changes of it (its OS) is seen by all its scans.
    canonical: dict[int, Resource] = {}
    matches = [
        m if isinstance(m, RejectedFile) else [(canonical.setdefault(r.pk, r), created) for r, created in m]
        for m in matches
    ]
    for scan_file, rule_part, matched in zip(files, rules, matches, strict=True):
        if isinstance(rule_part, RejectedFile):
            outcome.append(rule_part)
            continue
        if isinstance(matched, RejectedFile):
            outcome.append(matched)
            continue
        benchmark, rule_ids, cce_of_rule, counts = rule_part
        item = _Prepared(scan_file, benchmark, rule_ids, cce_of_rule, counts, matched)
        prepared.append(item)
        outcome.append(item.summary)
    _store(prepared)
    return outcome


RulePart = tuple[Benchmark | None, dict[str, int], dict[str, str], dict[str, Any]]


def _catalog_rules(documents: list[ScapDocument]) -> list[RulePart | RejectedFile]:
    """The catalog ids of every document's rules, in document order as single imports would write them:
    rules the catalog lacks are created together, up to the next document carrying a whole benchmark."""
    parts: list[RulePart | RejectedFile] = []
    wanted: dict[str, RuleRecord] = {}
    waiting: list[tuple[dict[str, int], set[str], set[str], dict[str, Any]]] = []
    claimed: set[str] = set()
    current: dict[int, tuple[str, dict[str, int]]] = {}  # benchmark -> its rules' digest and ids

    def flush() -> None:
        ids, created = ensure_rules(wanted.values()) if wanted else ({}, set())
        for rule_ids, keys, extra_keys, summary in waiting:
            rule_ids.update({key: ids[key] for key in keys})
            # As in `persist_scans`: rules created for results the file does not describe are counted,
            # by the first file that needed them.
            summary["rules_created"] += len((created & extra_keys) - claimed)
            claimed.update(created & extra_keys)
        wanted.clear()
        waiting.clear()

    for document in documents:
        if not document.scans:
            parts.append(RejectedFile(NO_SCANS))
            continue
        benchmark = upsert_benchmark(document.benchmark)
        if document.rules and benchmark is not None and benchmark.version and benchmark.rules_digest:
            # Read ahead before an earlier file put its benchmark version in the catalog: from here on
            # only its CCEs count, as the reader gives them for a known version.
            document.rule_cces = {r.rule_id: r.cce for r in document.rules} | document.rule_cces
            document.rules = []
            document.rules_skipped = True
        cce_of_rule = {r.rule_id: r.cce for r in document.rules} | document.rule_cces
        counts: Counter[str] = Counter(rules_created=0, rules_updated=0)
        rule_ids: dict[str, int] = {}
        if document.rules and not document.rules_skipped:
            flush()
            digest = rules_digest(document.rules) if benchmark is not None else ""
            if benchmark is not None and current.get(benchmark.pk, ("",))[0] == digest:
                # The same rules as the catalog's now (each Windows machine's export lists them): as
                # `upsert_rules` would find, nothing to write.
                rule_ids = dict(current[benchmark.pk][1])
            else:
                rule_ids, counts = upsert_rules(document.rules, benchmark)
                if benchmark is not None:
                    current[benchmark.pk] = (digest, dict(rule_ids))
        keys, extra_keys = _reference_rules(document, wanted)
        summary: dict[str, Any] = dict(counts)
        summary["invalid_cce"] = document.invalid_cce
        waiting.append((rule_ids, keys, extra_keys, summary))
        parts.append((benchmark, rule_ids, cce_of_rule, summary))
    flush()
    return parts


def _reference_rules(document: ScapDocument, wanted: dict[str, RuleRecord]) -> tuple[set[str], set[str]]:
    """The keys of the rules the results refer to that the document does not describe in full (as
    `persist_scans` finds them), and which of them are extras (not in a known benchmark's list). A rule
    not yet in `wanted` is added with what this document says of it (the first document names it)."""
    known = {r.rule_id for r in document.rules} | set(document.rule_cces)
    keys: set[str] = set()
    extra: set[str] = set()
    for scan in document.scans:
        for result in scan.results:
            if result.rule_id in known or result.result == ResultValue.NOT_SELECTED:
                continue
            key = rule_key(result.rule_id, result.cce)
            keys.add(key)
            extra.add(key)
            if key not in wanted:
                wanted[key] = RuleRecord(
                    rule_id=result.rule_id,
                    cce=result.cce,
                    title=short_rule_name(result.rule_id).replace("_", " "),
                    severity=result.severity,
                    rule_type=xccdf_rule_type(result.rule_id),
                    os=scan.os,
                )
    if document.rules_skipped:
        severity = {result.rule_id: result.severity for scan in document.scans for result in scan.results}
        os_name = document.benchmark.os if document.benchmark else ""
        for rule_id, cce in document.rule_cces.items():
            key = rule_key(rule_id, cce)
            keys.add(key)
            if key not in wanted:
                wanted[key] = RuleRecord(
                    rule_id=rule_id,
                    cce=cce,
                    title=short_rule_name(rule_id).replace("_", " "),
                    severity=severity.get(rule_id, "unknown"),
                    rule_type=xccdf_rule_type(rule_id),
                    os=os_name,
                )
    return keys, extra


def _match(
    scans_per_file: list[tuple[list[ScanRecord], str]],
) -> list[list[tuple[Resource, bool]] | RejectedFile]:
    """Each file's machines. A file naming an unknown host discovers it, in a savepoint of its own so a
    later scan of the same file that cannot be matched leaves no machine behind."""
    evidence = [_evidence(scan) for scans, _ in scans_per_file for scan in scans]
    known = iter(find_known_machines(evidence))
    outcome: list[list[tuple[Resource, bool]] | RejectedFile] = []
    for scans, source in scans_per_file:
        found = [next(known) for _ in scans]
        if any(not (scan.resource_id or scan.fqdn or scan.hostname) for scan in scans):
            outcome.append(RejectedFile(NAMELESS))
            continue
        error = next((f for f in found if isinstance(f, RejectedFile)), None)
        if error is not None:
            outcome.append(error)
        elif all(isinstance(f, Resource) for f in found):
            outcome.append([(f, False) for f in found if isinstance(f, Resource)])
        else:
            outcome.append(_discover(scans, found, source))
    return outcome


def _evidence(scan: ScanRecord) -> MachineEvidence:
    return MachineEvidence(resource_id=scan.resource_id, fqdn=scan.fqdn, hostname=scan.hostname, os=scan.os)


def _discover(
    scans: list[ScanRecord], found: list[Resource | RejectedFile | None], source: str
) -> list[tuple[Resource, bool]] | RejectedFile:
    matched: list[tuple[Resource, bool]] = []
    try:
        with transaction.atomic():
            for scan, resource in zip(scans, found, strict=True):
                if resource is None:
                    # Discovered by an earlier scan of the batch? Then it is known now.
                    again = find_known_machines([_evidence(scan)])[0]
                    if isinstance(again, RejectedFile):
                        raise again
                    if again is None:
                        matched.append((discover_machine(_evidence(scan), discovered_from=source), True))
                    else:
                        matched.append((again, False))
                elif isinstance(resource, Resource):
                    matched.append((resource, False))
    except RejectedFile as error:
        return error
    return matched


def _store(prepared: list[_Prepared]) -> None:
    scans = [
        (item, scan, resource, created)
        for item in prepared
        for scan, (resource, created) in zip(item.file.document.scans, item.resources, strict=True)
    ]
    existing = _already_imported({(r.pk, item.file.sha256) for item, _, r, _ in scans})
    new: list[tuple[_Prepared, ScanRecord, Resource, Scan, dict[str, Any]]] = []
    # The same file twice in one batch is stored once, as it would be imported once.
    in_batch: dict[tuple[int, str], Scan] = {}
    repeats: list[tuple[dict[str, Any], Scan]] = []
    for item, scan, resource, created in scans:
        summary = _scan_summary(scan, resource, created, item.cce_of_rule)
        item.summary.setdefault("_scans", []).append(summary)
        pair = (resource.pk, item.file.sha256)
        if pair in existing or pair in in_batch:
            summary["already_imported"] = True
            if pair in existing:
                summary["scan_id"] = existing[pair]
            else:
                repeats.append((summary, in_batch[pair]))
            continue
        stored = in_batch[pair] = Scan(
            resource=resource,
            benchmark=item.benchmark,
            profile_id=scan.profile_id,
            profile_title=scan.profile_title,
            source_format=scan.source_format,
            scanned_at=scan.scanned_at,
            file_sha256=item.file.sha256,
            target_hostname=scan.hostname,
            target_fqdn=scan.fqdn,
            target_addresses=scan.addresses,
            target_os=scan.os_name,
            result_counts=summary["results"],
        )
        new.append((item, scan, resource, stored, summary))
    Scan.objects.bulk_create([stored for _, _, _, stored, _ in new], batch_size=1000)
    for summary, stored in repeats:
        summary["scan_id"] = stored.pk
    set_os_from_scan([(resource, scan.os) for _, scan, resource, _, _ in new])
    # A machine scanned twice in the batch: its scans go in rounds, in file order, as single imports would.
    seen: Counter[int] = Counter()
    rounds: list[list[tuple[_Prepared, ScanRecord, Resource, Scan, dict[str, Any]]]] = []
    for entry in new:
        seen[entry[2].pk] += 1
        if len(rounds) < seen[entry[2].pk]:
            rounds.append([])
        rounds[seen[entry[2].pk] - 1].append(entry)
    for round_ in rounds:
        _store_results(round_)
    evaluate_os_configuration({resource.pk for _, _, resource, _ in scans})
    for item in prepared:
        add_scan_summaries(item.summary, item.summary.pop("_scans"), item.file.document)


def _store_results(new: list[tuple[_Prepared, ScanRecord, Resource, Scan, dict[str, Any]]]) -> None:
    """Scan results of scans of distinct machines, then the findings they change."""
    batch: Batch = []
    rows: list[tuple[Any, ...]] = []
    for item, scan, resource, stored, summary in new:
        kept = [
            (item.rule_ids[key], result)
            for key, result in dedupe_results(scan.results, item.cce_of_rule).items()
            if result.result != ResultValue.NOT_SELECTED
        ]
        rows.extend((stored.pk, rule_id, r.result, r.severity, r.expected, r.actual) for rule_id, r in kept)
        batch.append(
            (
                resource,
                stored,
                summary,
                [
                    (
                        rule_id,
                        ResultRow(stored.pk, scan.scanned_at, r.result, r.severity, r.expected, r.actual),
                    )
                    for rule_id, r in kept
                ],
            )
        )
    insert_rows(ScanResult, ["scan_id", "rule_id", "result", "severity", "expected", "actual"], rows)
    del rows
    _update_findings(batch)


def _already_imported(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = {}
    shas = {sha for _, sha in pairs}
    machines = {pk for pk, _ in pairs}
    for pk, resource_id, sha in Scan.objects.filter(
        file_sha256__in=shas, resource_id__in=machines
    ).values_list("pk", "resource_id", "file_sha256"):
        if (resource_id, sha) in pairs:
            found[(resource_id, sha)] = pk
    return found


def _scan_summary(
    scan: ScanRecord, resource: Resource, created: bool, cce_of_rule: dict[str, str]
) -> dict[str, Any]:
    return {
        "resource_id": resource.resource_id,
        "resource_created": created,
        "results": dict(sorted(Counter(r.result for r in scan.results).items())),
        "rules_with_cce": sum(
            1
            for r in scan.results
            if r.result != ResultValue.NOT_SELECTED and (r.cce or cce_of_rule.get(r.rule_id))
        ),
        "findings_opened": 0,
        "findings_resolved": 0,
        "findings_reopened": 0,
        "already_imported": False,
    }


Batch = list[tuple[Resource, Scan, dict[str, Any], list[tuple[int, ResultRow]]]]


def _update_findings(batch: Batch) -> None:
    """Advance the findings of machines whose new scan is their newest; re-derive the others'. Each
    machine has one scan in the batch."""
    newest = _newest_earlier_scan(
        {resource.pk for resource, _, _, _ in batch}, {stored.pk for _, stored, _, _ in batch}
    )
    appendable = [
        entry
        for entry in batch
        # Strictly newer: a scan taken at the same moment as a stored one is ordered among them by its
        # file's hash (refresh_findings), not appended because it arrived last.
        if newest.get(entry[0].pk) is None or entry[1].scanned_at > newest[entry[0].pk]
    ]
    previous = _stored_findings([resource.pk for resource, _, _, _ in appendable if resource.pk in newest])
    now = timezone.now()
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    deltas: dict[RuleKey, tuple[int, int, int]] = {}
    slow: list[tuple[Resource, dict[str, Any], list[int]]] = []
    for resource, _, summary, rows in appendable:
        mine = previous.get(resource.pk, {})
        advanced = [(rule_id, mine.get(rule_id), advance(mine.get(rule_id), row)) for rule_id, row in rows]
        if any(values is None for _, _, values in advanced):
            slow.append((resource, summary, [rule_id for rule_id, _ in rows]))
            continue
        transitions: list[tuple[int, str | None, str]] = []
        for rule_id, before, values in advanced:
            assert values is not None
            after = str(values["state"])
            count_transition(summary, before.state if before else None, after)
            row = (resource.pk, rule_id, *(values[name] for name in FINDING_FIELDS), values["scan_id"], now)
            (inserts if before is None else updates).append(row)
            if (before.state if before else None) != after:
                transitions.append((rule_id, before.state if before else None, after))
        merge_deltas(deltas, rule_deltas(resource.subscription_id, resource.os, transitions))
    columns = ["resource_id", "rule_id", *FINDING_FIELDS, "scan_id", "updated_at"]
    insert_rows(Finding, columns, inserts)
    upsert_rows(Finding, columns, updates, unique=["resource_id", "rule_id"])
    add_rule_deltas(deltas)
    refresh_machine_tallies({resource.pk for resource, _, _, _ in appendable} - {r.pk for r, _, _ in slow})
    done = {resource.pk for resource, _, _, _ in appendable}
    slow += [
        (resource, summary, [rule_id for rule_id, _ in rows])
        for resource, _, summary, rows in batch
        if resource.pk not in done
    ]
    for resource, summary, rule_ids in slow:
        counts = refresh_findings(resource_id=resource.pk, rule_ids=rule_ids)
        for name, value in counts.items():
            summary[name] += value


def _newest_earlier_scan(machines: set[int], new_scans: set[int]) -> dict[int, datetime]:
    rows = (
        Scan.objects.filter(resource_id__in=machines)
        .exclude(pk__in=new_scans)
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
