"""How long a value read from a file may be: the length of the column it is stored in, checked on the records.

PostgreSQL refuses an insert of a longer value (SQLite stores it): the importer refuses the file first,
naming the value, instead of the import failing at the database. The lengths are the models' own
(posture/lengths.py holds both).
"""

from dataclasses import fields, is_dataclass

from posture import lengths
from posture.errors import RejectedFile, shown
from posture.importers.records import (
    AssessmentRecord,
    BenchmarkRecord,
    CloudFindingRecord,
    CloudMachineRecord,
    ResourceRecord,
    RuleRecord,
    RuleResultRecord,
    ScanRecord,
    ScapDocument,
)

# Record type -> attribute -> the length of the column it ends up in; a rule's id is also its catalog
# key when it has no CCE.
LIMITS: dict[str, dict[str, int]] = {
    BenchmarkRecord.__name__: {
        "benchmark_id": lengths.BENCHMARK_ID,
        "version": lengths.BENCHMARK_VERSION,
        "title": lengths.BENCHMARK_TITLE,
    },
    RuleRecord.__name__: {"rule_id": lengths.RULE_KEY, "cce": lengths.CCE, "rule_type": lengths.RULE_TYPE},
    RuleResultRecord.__name__: {"rule_id": lengths.RULE_KEY, "cce": lengths.CCE},
    ScanRecord.__name__: {
        "hostname": lengths.RESOURCE_NAME,
        "fqdn": lengths.SCAN_TARGET_FQDN,
        "os_name": lengths.SCAN_TARGET_OS,
        "profile_id": lengths.PROFILE_ID,
        "profile_title": lengths.PROFILE_TITLE,
        "resource_id": lengths.RESOURCE_ID,
    },
    ResourceRecord.__name__: {
        "resource_id": lengths.RESOURCE_ID,
        "name": lengths.RESOURCE_NAME,
        "subscription": lengths.SUBSCRIPTION_NAME,
        "resource_group": lengths.RESOURCE_GROUP,
        "parent_id": lengths.RESOURCE_ID,
        "agent_version": lengths.AGENT_VERSION,
        "workspace_id": lengths.WORKSPACE_ID,
    },
    CloudMachineRecord.__name__: {
        "resource_id": lengths.RESOURCE_ID,
        "name": lengths.RESOURCE_NAME,
        "account_id": lengths.SUBSCRIPTION_NAME,
        "native_id": lengths.RESOURCE_ID,
    },
    CloudFindingRecord.__name__: {
        "uid": lengths.FINDING_UID,
        "check_id": lengths.FINDING_CHECK,
        "title": lengths.FINDING_TITLE,
        "severity": lengths.FINDING_SEVERITY,
        "account_id": lengths.SUBSCRIPTION_NAME,
        "resource_uid": lengths.RESOURCE_ID,
        "resource_type": lengths.FINDING_RESOURCE_TYPE,
        "observed_at": lengths.FINDING_TIME,
    },
    AssessmentRecord.__name__: {
        "resource_id": lengths.RESOURCE_ID,
        "subscription_id": lengths.SUBSCRIPTION_NAME,
        "subscription_name": lengths.SUBSCRIPTION_NAME,
        "resource_group": lengths.RESOURCE_GROUP,
        "cause": lengths.ASSESSMENT_CAUSE,
    },
    "ContainerProfile": {
        "namespace": lengths.K8S_NAME,
        "workload_name": lengths.K8S_NAME,
        "owner": lengths.K8S_OWNER,
        "container": lengths.K8S_NAME,
        "profile": lengths.APPARMOR_PROFILE,
    },
}


def check_lengths(record: object, where: str = "") -> None:
    """Refuse a record holding a value longer than its column; `where` says where it is in the file."""
    if not is_dataclass(record):
        return
    names = {field.name for field in fields(record)}
    for name, length in LIMITS.get(type(record).__name__, {}).items():
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
