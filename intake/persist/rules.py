"""Persists benchmarks and their rules into the catalog (from data streams and from scan files)."""

import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from intake.persist.bulk import chunks
from posture.importers.records import BenchmarkRecord, RuleRecord
from recommendations.catalog.baselines import PUBLISHED_BENCHMARK_IDS
from recommendations.models import Benchmark, Rule

RULE_FIELDS = (
    "cce",
    "rule_id",
    "benchmark_id",
    "title",
    "description",
    "rationale",
    "severity",
    "rule_type",
    "os",
    "expected",
    "references",
    "fix_text",
    "fix_bash",
    "fix_ansible",
)


def _values(record: RuleRecord, benchmark: Benchmark | None) -> dict[str, Any]:
    return {
        "cce": record.cce,
        "rule_id": record.rule_id,
        "benchmark_id": benchmark.pk if benchmark else None,
        "title": record.title,
        "description": record.description,
        "rationale": record.rationale,
        "severity": record.severity,
        "rule_type": record.rule_type,
        "os": record.os,
        "expected": record.expected,
        "references": [{"source": s, "ref": r} for s, r in record.references],
        "fix_text": record.fix_text,
        "fix_bash": record.fix_bash,
        "fix_ansible": record.fix_ansible,
    }


def rule_key(rule_id: str, cce: str) -> str:
    """One rule per CCE ID where there is one, else per benchmark rule id."""
    return cce or rule_id


def upsert_benchmark(record: BenchmarkRecord | None) -> Benchmark | None:
    if record is None or not record.benchmark_id:
        return None
    benchmark, created = Benchmark.objects.get_or_create(
        benchmark_id=record.benchmark_id,
        version=record.version,
        defaults={"title": record.title, "os": record.os, "platform": record.platform},
    )
    values = (record.title, record.os, record.platform)
    if not created and (benchmark.title, benchmark.os, benchmark.platform) != values:
        benchmark.title, benchmark.os, benchmark.platform = values
        benchmark.save()
    return benchmark


def rule_ids_by_key(keys: Iterable[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in chunks(keys):
        ids.update(Rule.objects.filter(key__in=chunk).values_list("key", "id"))
    return ids


def rules_digest(records: list[RuleRecord]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(repr(record).encode())
    return digest.hexdigest()


def upsert_rules(
    records: list[RuleRecord], benchmark: Benchmark | None
) -> tuple[dict[str, int], Counter[str]]:
    """Create or refresh rules; returns rule ids by key and counts of created / updated rules. Rules a
    published baseline holds keep the baseline's facts."""
    counts: Counter[str] = Counter(rules_created=0, rules_updated=0)
    digest = rules_digest(records) if benchmark is not None else ""
    if benchmark is not None and records and benchmark.rules_digest == digest:
        keys = [rule_key(r.rule_id, r.cce) for r in records]
        known = rule_ids_by_key(keys)
        if len(known) == len(set(keys)):
            return known, counts
    ids: dict[str, int] = {}
    now = timezone.now()
    for chunk in chunks(records):
        wanted: dict[str, RuleRecord] = {}
        for record in chunk:
            # Two XCCDF rules with one CCE (rare) describe one setting: the first one read names it.
            wanted.setdefault(rule_key(record.rule_id, record.cce), record)
        existing = {r.key: r for r in Rule.objects.filter(key__in=wanted).select_related("benchmark")}
        to_create: list[Rule] = []
        to_update: list[Rule] = []
        for key, record in wanted.items():
            values = _values(record, benchmark)
            rule = existing.get(key)
            if rule is None:
                to_create.append(Rule(key=key, **values))
            elif rule.benchmark is not None and rule.benchmark.benchmark_id in PUBLISHED_BENCHMARK_IDS:
                continue  # a scan's description never replaces the published one
            elif any(getattr(rule, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(rule, name, value)
                rule.updated_at = now
                to_update.append(rule)
        Rule.objects.bulk_create(to_create)
        Rule.objects.bulk_update(to_update, [*RULE_FIELDS, "updated_at"])
        counts["rules_created"] += len(to_create)
        counts["rules_updated"] += len(to_update)
        ids.update(rule_ids_by_key(wanted))
    if benchmark is not None and records and benchmark.rules_digest != digest:
        benchmark.rules_digest = digest
        benchmark.save(update_fields=["rules_digest"])
    return ids, counts


def ensure_rules(records: Iterable[RuleRecord]) -> tuple[dict[str, int], set[str]]:
    """Rules results refer to without describing them: catalog entries are kept, missing ones created.
    Returns the ids by key and the keys created."""
    wanted = {rule_key(r.rule_id, r.cce): r for r in records}
    ids = rule_ids_by_key(wanted)
    missing = [Rule(key=key, **_values(record, None)) for key, record in wanted.items() if key not in ids]
    Rule.objects.bulk_create(missing)
    ids.update(rule_ids_by_key(r.key for r in missing))
    return ids, {r.key for r in missing}


def baseline_counts(rule_ids: Iterable[int]) -> dict[str, int]:
    """How many of these rules a published baseline holds, and how many it does not."""
    ids = set(rule_ids)
    inside = 0
    for chunk in chunks(list(ids)):
        published = Rule.objects.filter(pk__in=chunk, benchmark__benchmark_id__in=PUBLISHED_BENCHMARK_IDS)
        inside += published.count()
    return {"rules_in_baseline": inside, "rules_outside_baseline": len(ids) - inside}
