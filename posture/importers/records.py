"""The plain records importers produce and the import pipeline persists."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ResourceRecord:
    """One row of the inventory CSV (formats/inventory.md)."""

    line: int
    resource_id: str
    name: str
    kind: str
    os: str
    subscription: str
    resource_group: str = ""
    parent_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    power_state: str = "running"
    # None when the file has no `agent` column: it then says nothing about the agent (not evidence).
    agent_state: str | None = None
    agent_version: str = ""
    workspace_id: str = ""
    last_heartbeat: datetime | None = None


@dataclass(frozen=True)
class AssessmentRecord:
    """One assessment of a Defender export: a recommendation's status on a resource."""

    position: int
    assessment_key: str
    display_name: str
    resource_id: str
    subscription_id: str
    resource_group: str
    status: str
    cause: str
    reason: str
    first_evaluated: datetime | None
    status_changed: datetime | None
    # The subscription's display name, when the export gives it (the portal's CSV report).
    subscription_name: str = ""


@dataclass(frozen=True)
class BenchmarkRecord:
    benchmark_id: str
    version: str
    title: str
    os: str
    # The names of the OS its CPE platforms target ("Red Hat Enterprise Linux 9"), "" when none.
    platform: str = ""


@dataclass(frozen=True)
class RuleRecord:
    """A rule of a benchmark, as the catalog stores it."""

    rule_id: str
    cce: str
    title: str
    description: str = ""
    rationale: str = ""
    severity: str = "unknown"
    rule_type: str = "Other"
    os: str = ""
    expected: str = ""
    references: tuple[tuple[str, str], ...] = ()
    fix_text: str = ""
    fix_bash: str = ""
    fix_ansible: str = ""


@dataclass(frozen=True)
class RuleResultRecord:
    rule_id: str
    cce: str
    result: str
    severity: str
    expected: str = ""
    actual: str = ""


@dataclass
class ScanRecord:
    """One machine's evaluation against one profile: who, when, what, and every rule result."""

    source_format: str
    scanned_at: datetime
    hostname: str = ""
    fqdn: str = ""
    addresses: list[str] = field(default_factory=list)
    os_name: str = ""
    os: str = ""
    profile_id: str = ""
    profile_title: str = ""
    resource_id: str = ""
    results: list[RuleResultRecord] = field(default_factory=list)
    # The file's times had no UTC offset and were read as UTC.
    naive_times: bool = False


@dataclass
class ScapDocument:
    """What an XCCDF / ARF / data-stream file holds: a benchmark with its rules, and scans of machines."""

    benchmark: BenchmarkRecord | None = None
    rules: list[RuleRecord] = field(default_factory=list)
    scans: list[ScanRecord] = field(default_factory=list)
    invalid_cce: int = 0
    # True when the benchmark (id and version) was already in the catalog, so its rules were not
    # read again: `rules` is empty and `rule_cces` maps each rule id to its CCE.
    rules_skipped: bool = False
    rule_cces: dict[str, str] = field(default_factory=dict)
