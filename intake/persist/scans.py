"""Persists scan results: the machine, the scan, its rule results, then findings and assessments."""

from collections import Counter
from typing import Any

from django.utils import timezone

from intake.persist.rules import ensure_rules, rule_key, upsert_benchmark, upsert_rules
from posture.errors import RejectedFile
from posture.importers.records import RuleRecord, RuleResultRecord, ScanRecord, ScapDocument
from posture.importers.rule_types import short_rule_name, xccdf_rule_type
from posture.matching import find_or_discover_machine
from posture.models import Resource, resource_key
from recommendations.evaluators.os_config import evaluate_os_configuration
from recommendations.findings import refresh_findings
from recommendations.models import Benchmark, ResultValue, Scan, ScanResult
from recommendations.tallies import move_machine

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


def match_resource(scan: ScanRecord, hint: str | None, *, discovered_from: str) -> tuple[Resource, bool]:
    """The machine a scan describes: --resource, else its host name or FQDN; else a discovered Arc machine."""
    if hint:
        found = Resource.objects.filter(resource_key=resource_key(hint)).first()
        if found is None:
            raise RejectedFile(f"--resource {hint!r} is not a known resource")
        return found, False
    if not (scan.resource_id or scan.fqdn or scan.hostname):
        raise RejectedFile(NAMELESS)
    return find_or_discover_machine(
        resource_id=scan.resource_id,
        fqdn=scan.fqdn,
        hostname=scan.hostname,
        os=scan.os,
        discovered_from=discovered_from,
    )


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


def set_os_from_scan(pairs: list[tuple[Resource, str]]) -> None:
    """Machines nobody gave an OS take their scan's; their findings so far move to the OS's tallies."""
    changed: dict[int, tuple[Resource, str]] = {}
    for resource, os_name in pairs:
        if not resource.os and os_name and resource.pk not in changed:
            changed[resource.pk] = (resource, os_name)
    now = timezone.now()
    for resource, os_name in changed.values():
        move_machine(
            resource.pk,
            old_subscription_id=resource.subscription_id,
            old_os=resource.os,
            new_subscription_id=resource.subscription_id,
            new_os=os_name,
        )
        resource.os = os_name
        resource.updated_at = now
    Resource.objects.bulk_update([resource for resource, _ in changed.values()], ["os", "updated_at"])


def persist_scans(
    document: ScapDocument, *, file_sha256: str, resource_hint: str | None, source: str
) -> dict[str, Any]:
    if not document.scans:
        raise RejectedFile(NO_SCANS)
    if resource_hint and len(document.scans) > 1:
        raise RejectedFile("--resource names one machine, but the file holds scans of several")
    benchmark = upsert_benchmark(document.benchmark)
    cce_of_rule = {r.rule_id: r.cce for r in document.rules} | document.rule_cces
    known = {r.rule_id for r in document.rules} | set(document.rule_cces)
    # Results whose rule the file does not describe (a bare TestResult) still get a catalog entry.
    extra = {
        result.rule_id: RuleRecord(
            rule_id=result.rule_id,
            cce=result.cce,
            title=short_rule_name(result.rule_id).replace("_", " "),
            severity=result.severity,
            rule_type=xccdf_rule_type(result.rule_id),
            os=scan.os,
        )
        for scan in document.scans
        for result in scan.results
        if result.rule_id not in known and result.result != ResultValue.NOT_SELECTED
    }
    if document.rules_skipped:
        # Rules of a benchmark already in the catalog: look them up, create what is missing.
        # A rule new to the catalog though its benchmark version is known gets what the file says.
        severity = {result.rule_id: result.severity for scan in document.scans for result in scan.results}
        os_name = document.benchmark.os if document.benchmark else ""
        described = (
            RuleRecord(
                rule_id=rule_id,
                cce=cce,
                title=short_rule_name(rule_id).replace("_", " "),
                severity=severity.get(rule_id, "unknown"),
                rule_type=xccdf_rule_type(rule_id),
                os=os_name,
            )
            for rule_id, cce in document.rule_cces.items()
        )
        rule_ids, _ = ensure_rules(described)
        counts: Counter[str] = Counter(rules_created=0, rules_updated=0)
    else:
        rule_ids, counts = upsert_rules(document.rules, benchmark)
    extra_ids, created = ensure_rules(extra.values())
    rule_ids.update(extra_ids)
    counts["rules_created"] += len(created)
    summary: dict[str, Any] = dict(counts)
    summary["invalid_cce"] = document.invalid_cce
    per_scan = [
        _persist_scan(scan, benchmark, rule_ids, cce_of_rule, file_sha256, resource_hint, source)
        for scan in document.scans
    ]
    add_scan_summaries(summary, per_scan, document)
    return summary


def add_scan_summaries(
    summary: dict[str, Any], per_scan: list[dict[str, Any]], document: ScapDocument
) -> None:
    """A file's summary from its scans': one scan's as it is, several added up (and their machines)."""
    if len(per_scan) == 1:
        summary.update(per_scan[0])
    else:
        totals: Counter[str] = Counter()
        results: Counter[str] = Counter()
        for item in per_scan:
            totals.update({k: v for k, v in item.items() if isinstance(v, int) and not isinstance(v, bool)})
            results.update(item["results"])
        summary.update(totals)
        summary["results"] = dict(results)
        summary["resource_ids"] = [item["resource_id"] for item in per_scan]
        summary["resource_id"] = per_scan[0]["resource_id"]
    summary["format"] = document.scans[0].source_format


def _persist_scan(
    scan: ScanRecord,
    benchmark: Benchmark | None,
    rule_ids: dict[str, int],
    cce_of_rule: dict[str, str],
    file_sha256: str,
    resource_hint: str | None,
    source: str,
) -> dict[str, Any]:
    resource, created = match_resource(scan, resource_hint, discovered_from=source)
    results = Counter(r.result for r in scan.results)
    rules_with_cce = sum(
        1
        for r in scan.results
        if r.result != ResultValue.NOT_SELECTED and (r.cce or cce_of_rule.get(r.rule_id))
    )
    summary: dict[str, Any] = {
        "resource_id": resource.resource_id,
        "resource_created": created,
        "results": dict(sorted(results.items())),
        "rules_with_cce": rules_with_cce,
        "findings_opened": 0,
        "findings_resolved": 0,
        "findings_reopened": 0,
        "already_imported": False,
    }
    existing = Scan.objects.filter(resource=resource, file_sha256=file_sha256).first()
    if existing is not None:
        summary["already_imported"] = True
        summary["scan_id"] = existing.pk
        return summary
    stored = Scan.objects.create(
        resource=resource,
        benchmark=benchmark,
        profile_id=scan.profile_id,
        profile_title=scan.profile_title,
        source_format=scan.source_format,
        scanned_at=scan.scanned_at,
        file_sha256=file_sha256,
        target_hostname=scan.hostname,
        target_fqdn=scan.fqdn,
        target_addresses=scan.addresses,
        target_os=scan.os_name,
        result_counts=summary["results"],
    )
    kept = {
        key: result
        for key, result in dedupe_results(scan.results, cce_of_rule).items()
        if result.result != ResultValue.NOT_SELECTED
    }
    ScanResult.objects.bulk_create(
        (
            ScanResult(
                scan=stored,
                rule_id=rule_ids[key],
                result=result.result,
                severity=result.severity,
                expected=result.expected,
                actual=result.actual,
            )
            for key, result in kept.items()
        ),
        batch_size=2000,
    )
    if not resource.os and scan.os:
        set_os_from_scan([(resource, scan.os)])
    summary["scan_id"] = stored.pk
    summary.update(refresh_findings(resource_id=resource.pk, rule_ids=[rule_ids[k] for k in kept]))
    evaluate_os_configuration([resource.pk])
    return summary
