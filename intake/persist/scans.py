"""Persists scan files (OpenSCAP results, SecurityBaseline exports) set-based, many in one transaction:
a single file is a batch of one, the same way.

Every file still imports whole or not at all: files are checked and matched to their machines before
anything of theirs is written, so a file that cannot be imported is reported and left out while the
others go in. What the scans change downstream (findings, assessments) is the next stages' work: this
returns the stored scans, in rounds, and what they touched.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from intake.persist.bulk import insert_rows
from intake.persist.rules import (
    baseline_counts,
    ensure_rules,
    rule_key,
    rules_digest,
    upsert_benchmark,
    upsert_rules,
)
from intake.stages import Evaluations, Move, NewScan, Outcome, Persisted
from posture.errors import RejectedFile
from posture.importers.records import RuleRecord, RuleResultRecord, ScanRecord, ScapDocument
from posture.importers.rule_types import short_rule_name, xccdf_rule_type
from posture.matching import MachineEvidence, discover_machine, find_known_machines
from posture.models import AgentState, Resource, resource_key
from recommendations.findings import ResultRow
from recommendations.models import Benchmark, ResultValue, Scan, ScanResult

# When one scan holds two results for one rule (two XCCDF rules sharing a CCE), the worst one stands.
RESULT_WEIGHT = {
    ResultValue.FAIL: 8,
    ResultValue.ERROR: 7,
    ResultValue.UNKNOWN: 6,
    ResultValue.PASS: 5,
    ResultValue.FIXED: 4,
    ResultValue.INFORMATIONAL: 3,
    ResultValue.NOT_CHECKED: 2,
    ResultValue.NOT_APPLICABLE: 1,
    ResultValue.NOT_SELECTED: 0,
}
NO_SCANS = (
    "the file holds no scan result (no XCCDF TestResult): a benchmark or data stream is loaded "
    "with `manage.py load_benchmark`"
)
NAMELESS = "the scan names no host (no target, host name or FQDN); use --resource"
SEVERAL = "--resource names one machine, but the file holds scans of several"


@dataclass
class ScanFile:
    """One file's document, read and not yet stored."""

    name: str
    sha256: str
    source: str
    document: ScapDocument
    # --resource: the machine the file's one scan is of, by resource id.
    resource_hint: str | None = None


@dataclass
class _Prepared:
    file: ScanFile
    benchmark: Benchmark | None
    rule_ids: dict[str, int]
    cce_of_rule: dict[str, str]
    summary: dict[str, Any]
    resources: list[tuple[Resource, bool]] = field(default_factory=list)


def persist_scan_files(files: Sequence[ScanFile]) -> Persisted:
    """Store the scans of every file; per file, its counts (their per-scan part completed by the
    findings stage: `scan_counts`) or why it was rejected. Runs inside the caller's transaction."""
    outcomes: list[Outcome] = [_refusal(f) or {} for f in files]
    accepted = [i for i, outcome in enumerate(outcomes) if not isinstance(outcome, RejectedFile)]
    matches = _match([files[i] for i in accepted])
    # One object per machine, so what the batch changes of it (its OS) is seen by all its scans.
    canonical: dict[int, Resource] = {}
    matched: dict[int, list[tuple[Resource, bool]]] = {}
    for index, match in zip(accepted, matches, strict=True):
        if isinstance(match, RejectedFile):
            outcomes[index] = match
        else:
            matched[index] = [(canonical.setdefault(r.pk, r), created) for r, created in match]
    # The catalog takes only the rules of files that import.
    rules = _catalog_rules([files[i].document for i in matched])
    prepared = [
        _Prepared(files[index], benchmark, rule_ids, cce_of_rule, summary, matched[index])
        for index, (benchmark, rule_ids, cce_of_rule, summary) in zip(matched, rules, strict=True)
    ]
    for index, item in zip(matched, prepared, strict=True):
        outcomes[index] = item.summary
    persisted = Persisted(outcomes=outcomes)
    _store(prepared, persisted)
    return persisted


def _refusal(scan_file: ScanFile) -> RejectedFile | None:
    """Why a file cannot be imported, as far as it says by itself."""
    scans = scan_file.document.scans
    if not scans:
        return RejectedFile(NO_SCANS)
    if scan_file.resource_hint and len(scans) > 1:
        return RejectedFile(SEVERAL)
    return None


RulePart = tuple[Benchmark | None, dict[str, int], dict[str, str], dict[str, Any]]


def _catalog_rules(documents: list[ScapDocument]) -> list[RulePart]:
    """The catalog ids of every document's rules, in document order as one file after the other would
    write them: rules the catalog lacks are created together, up to the next document carrying a whole
    benchmark."""
    parts: list[RulePart] = []
    wanted: dict[str, RuleRecord] = {}
    waiting: list[tuple[dict[str, int], set[str], set[str], dict[str, Any]]] = []
    claimed: set[str] = set()
    current: dict[int, tuple[str, dict[str, int]]] = {}  # benchmark -> its rules' digest and ids

    def flush() -> None:
        ids, created = ensure_rules(wanted.values()) if wanted else ({}, set())
        for rule_ids, keys, extra_keys, summary in waiting:
            rule_ids.update({key: ids[key] for key in keys})
            # Rules created for results the file does not describe are counted by the first file that
            # needed them.
            summary["rules_created"] += len((created & extra_keys) - claimed)
            claimed.update(created & extra_keys)
        wanted.clear()
        waiting.clear()

    for document in documents:
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
        if any(scan.source_format == "securitybaseline" for scan in document.scans):
            # Defender's rules join Microsoft's published baseline by rule ID; the others still count.
            summary.update(baseline_counts(rule_ids.values()))
        waiting.append((rule_ids, keys, extra_keys, summary))
        parts.append((benchmark, rule_ids, cce_of_rule, summary))
    flush()
    return parts


def _reference_rules(document: ScapDocument, wanted: dict[str, RuleRecord]) -> tuple[set[str], set[str]]:
    """The keys of the rules the results refer to that the document does not describe in full, and which
    of them are extras (not in a known benchmark's list). A rule not yet in `wanted` is added with what
    this document says of it (the first document names it)."""
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


def _match(files: list[ScanFile]) -> list[list[tuple[Resource, bool]] | RejectedFile]:
    """Each file's machines: the one --resource names, else the hosts its scans name. A file naming an
    unknown host discovers it, in a savepoint of its own so a later scan of the same file that cannot be
    matched leaves no machine behind."""
    hinted = {
        r.resource_key: r
        for r in Resource.objects.filter(
            resource_key__in={resource_key(f.resource_hint) for f in files if f.resource_hint}
        )
    }
    evidence = [_evidence(scan) for f in files if not f.resource_hint for scan in f.document.scans]
    known = iter(find_known_machines(evidence) if evidence else [])
    outcome: list[list[tuple[Resource, bool]] | RejectedFile] = []
    for scan_file in files:
        scans = scan_file.document.scans
        if scan_file.resource_hint:
            found = hinted.get(resource_key(scan_file.resource_hint))
            if found is None:
                outcome.append(
                    RejectedFile(f"--resource {scan_file.resource_hint!r} is not a known resource")
                )
            else:
                outcome.append([(found, False)])
            continue
        named = [next(known) for _ in scans]
        if any(not (scan.resource_id or scan.fqdn or scan.hostname) for scan in scans):
            outcome.append(RejectedFile(NAMELESS))
            continue
        error = next((f for f in named if isinstance(f, RejectedFile)), None)
        if error is not None:
            outcome.append(error)
        elif all(isinstance(f, Resource) for f in named):
            outcome.append([(f, False) for f in named if isinstance(f, Resource)])
        else:
            outcome.append(_discover(scans, named, scan_file.source))
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


def _store(prepared: list[_Prepared], persisted: Persisted) -> None:
    """The batch's new scans and their results; the files' counts; the machines' OS where the scan tells
    it first; the scans in rounds for the findings stage."""
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
        item.summary["format"] = item.file.document.scans[0].source_format
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
    for _, _, _, stored, summary in new:
        summary["scan_id"] = stored.pk
    for summary, stored in repeats:
        summary["scan_id"] = stored.pk
    persisted.moves = os_from_scans([(resource, scan.os) for _, scan, resource, _, _ in new])
    persisted.rounds = _rounds(
        [_new_scan(item, scan, resource, stored) for item, scan, resource, stored, _ in new]
    )
    insert_rows(
        ScanResult,
        ["scan_id", "rule_id", "result", "severity", "expected", "actual"],
        [
            (s.scan_id, rule_id, r.result, r.severity, r.expected, r.actual)
            for round_ in persisted.rounds
            for s in round_
            for rule_id, r in s.rows
        ],
    )
    machines = {resource.pk: resource for _, _, resource, _ in scans}
    persisted.evidence = set(machines) | {r.parent_id for r in machines.values() if r.parent_id is not None}
    persisted.evaluations = Evaluations(
        os_configuration=set(machines),
        # Discovered in an auto-provisioned subscription: pending an agent, to evaluate as such.
        agents={r.pk for _, _, r, created in scans if created and r.agent_state == AgentState.PENDING},
    )


def _new_scan(item: _Prepared, scan: ScanRecord, resource: Resource, stored: Scan) -> NewScan:
    kept = [
        (item.rule_ids[key], result)
        for key, result in dedupe_results(scan.results, item.cce_of_rule).items()
        if result.result != ResultValue.NOT_SELECTED
    ]
    return NewScan(
        resource=resource,
        scan_id=stored.pk,
        scanned_at=scan.scanned_at,
        rows=[
            (rule_id, ResultRow(stored.pk, scan.scanned_at, r.result, r.severity, r.expected, r.actual))
            for rule_id, r in kept
        ],
    )


def _rounds(new: list[NewScan]) -> list[list[NewScan]]:
    """A machine scanned twice in the batch: its scans go in rounds, in file order."""
    seen: Counter[int] = Counter()
    rounds: list[list[NewScan]] = []
    for scan in new:
        seen[scan.resource.pk] += 1
        if len(rounds) < seen[scan.resource.pk]:
            rounds.append([])
        rounds[seen[scan.resource.pk] - 1].append(scan)
    return rounds


def dedupe_results(
    results: list[RuleResultRecord], cce_of_rule: dict[str, str]
) -> dict[str, RuleResultRecord]:
    by_key: dict[str, RuleResultRecord] = {}
    for result in results:
        key = rule_key(result.rule_id, result.cce or cce_of_rule.get(result.rule_id, ""))
        current = by_key.get(key)
        if (
            current is None
            or RESULT_WEIGHT[ResultValue(result.result)] > RESULT_WEIGHT[ResultValue(current.result)]
        ):
            by_key[key] = result
    return by_key


def os_from_scans(pairs: list[tuple[Resource, str]]) -> list[Move]:
    """Machines nobody gave an OS take their scan's; returns the moves their findings' tallies make."""
    changed: dict[int, tuple[Resource, str]] = {}
    for resource, os_name in pairs:
        if not resource.os and os_name and resource.pk not in changed:
            changed[resource.pk] = (resource, os_name)
    now = timezone.now()
    moves = []
    for resource, os_name in changed.values():
        moves.append(
            Move(
                resource.pk,
                resource.subscription_id,
                resource.os,
                resource.kind,
                resource.subscription_id,
                os_name,
                resource.kind,
            )
        )
        resource.os = os_name
        resource.updated_at = now
    Resource.objects.bulk_update([resource for resource, _ in changed.values()], ["os", "updated_at"])
    return moves


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
        "naive_times": scan.naive_times,
    }


def scan_counts(counts: dict[str, Any], changes: dict[int, Counter[str]]) -> dict[str, Any]:
    """A scan file's counts once its findings are derived: one scan's as they are, several added up
    (and their machines)."""
    counts = dict(counts)
    per_scan = counts.pop("_scans")
    for summary in per_scan:
        if not summary["already_imported"]:
            for name, value in changes.get(summary["scan_id"], {}).items():
                summary[name] += value
    if len(per_scan) == 1:
        counts.update(per_scan[0])
    else:
        totals: Counter[str] = Counter()
        results: Counter[str] = Counter()
        for item in per_scan:
            totals.update({k: v for k, v in item.items() if isinstance(v, int) and not isinstance(v, bool)})
            results.update(item["results"])
        counts.update(totals)
        counts["results"] = dict(results)
        counts["resource_ids"] = [item["resource_id"] for item in per_scan]
        counts["naive_times"] = any(item["naive_times"] for item in per_scan)
        counts["resource_id"] = per_scan[0]["resource_id"]
    # The format last, as before the counts were split by stage.
    counts["format"] = counts.pop("format")
    return counts
