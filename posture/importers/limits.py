"""How long a value read from a file may be: the length of the column it is stored in, checked on the records.

PostgreSQL refuses an insert of a longer value (SQLite stores it): the importer refuses the file first,
naming the value, instead of the import failing at the database. The lengths are the models' own.
"""

from dataclasses import fields, is_dataclass
from functools import cache

from django.db.models import Model

from posture.errors import RejectedFile, shown
from posture.importers.records import (
    AssessmentRecord,
    BenchmarkRecord,
    ResourceRecord,
    RuleRecord,
    RuleResultRecord,
    ScanRecord,
    ScapDocument,
)
from posture.models import Resource, Subscription
from recommendations.models import AppArmorViolation, Assessment, Benchmark, Rule, Scan

# Record attribute -> (model, field) it ends up in; a rule's id is also its catalog key when it has no CCE.
STORED_IN: dict[str, dict[str, tuple[type[Model], str]]] = {
    BenchmarkRecord.__name__: {
        "benchmark_id": (Benchmark, "benchmark_id"),
        "version": (Benchmark, "version"),
        "title": (Benchmark, "title"),
    },
    RuleRecord.__name__: {"rule_id": (Rule, "key"), "cce": (Rule, "cce"), "rule_type": (Rule, "rule_type")},
    RuleResultRecord.__name__: {"rule_id": (Rule, "key"), "cce": (Rule, "cce")},
    ScanRecord.__name__: {
        "hostname": (Resource, "name"),
        "fqdn": (Scan, "target_fqdn"),
        "os_name": (Scan, "target_os"),
        "profile_id": (Scan, "profile_id"),
        "profile_title": (Scan, "profile_title"),
        "resource_id": (Resource, "resource_id"),
    },
    ResourceRecord.__name__: {
        "resource_id": (Resource, "resource_id"),
        "name": (Resource, "name"),
        "subscription": (Subscription, "name"),
        "resource_group": (Resource, "resource_group"),
        "parent_id": (Resource, "resource_id"),
        "agent_version": (Resource, "agent_version"),
        "workspace_id": (Resource, "workspace_id"),
    },
    AssessmentRecord.__name__: {
        "resource_id": (Resource, "resource_id"),
        "subscription_id": (Subscription, "name"),
        "resource_group": (Resource, "resource_group"),
        "cause": (Assessment, "cause"),
    },
    "ContainerProfile": {
        "namespace": (AppArmorViolation, "namespace"),
        "workload_name": (AppArmorViolation, "workload_name"),
        "owner": (AppArmorViolation, "owner"),
        "container": (AppArmorViolation, "container"),
        "profile": (AppArmorViolation, "profile"),
    },
}


@cache
def _limits(record_type: str) -> tuple[tuple[str, int], ...]:
    found = []
    for name, (model, field_name) in STORED_IN.get(record_type, {}).items():
        length = getattr(model._meta.get_field(field_name), "max_length", None)
        if length:
            found.append((name, length))
    return tuple(found)


def check_lengths(record: object, where: str = "") -> None:
    """Refuse a record holding a value longer than its column; `where` says where it is in the file."""
    if not is_dataclass(record):
        return
    names = {field.name for field in fields(record)}
    for name, length in _limits(type(record).__name__):
        value = getattr(record, name) if name in names else None
        if isinstance(value, str) and len(value) > length:
            label = name.replace("_", " ")
            raise RejectedFile(
                f"{where + ': ' if where else ''}{label} {shown(value, 40)} is {len(value)} characters long; "
                f"Posture keeps at most {length}"
            )


def check_document(document: ScapDocument) -> None:
    """Check a SCAP or SecurityBaseline document's benchmark, rules, scans and results."""
    if document.benchmark is not None:
        check_lengths(document.benchmark, "the benchmark")
    for rule in document.rules:
        check_lengths(rule, "a rule")
    for rule_id, cce in document.rule_cces.items():
        check_lengths(RuleResultRecord(rule_id=rule_id, cce=cce, result="", severity=""), "a rule")
    for scan in document.scans:
        check_lengths(scan, "the scan")
        for result in scan.results:
            check_lengths(result, "a rule result")
