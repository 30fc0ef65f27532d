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
    # Defender's multicloud resources: the cloud's own id (an EC2 instance's ARN) beside the Azure id
    # Defender gives them (`.../securityconnectors/<c>/securityentitydata/aws-ec2-instance-<id>-<region>`).
    native_resource_id: str = ""


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


@dataclass(frozen=True)
class CloudMachineRecord:
    """One machine as its cloud's own inventory lists it (an EC2 instance, a Compute Engine instance),
    or as its cloud's agent reports it (`account_id` then empty when the report does not say)."""

    position: int
    source: str  # the tool that listed it, as the machine page names it
    cloud: str
    account_id: str  # the AWS account number, the GCP project id
    native_id: str  # the instance id
    resource_id: str  # the ARN, the self link: the machine's resource id in Posture
    name: str
    os: str = ""
    power_state: str = "running"
    tags: dict[str, str] = field(default_factory=dict)
    # Names a scan may know the machine by (private DNS name, computer name).
    host_names: tuple[str, ...] = ()
    # Other ids of the same machine in other sources: (kind, value).
    identifiers: tuple[tuple[str, str], ...] = ()
    # What the source says beyond the columns (shown on the machine page under the source's key).
    details: dict[str, object] = field(default_factory=dict)
    # False for a report that names machines but does not list an account's estate (SSM's agents).
    is_inventory: bool = True


@dataclass(frozen=True)
class CloudFindingRecord:
    """One finding of a cloud security tool (Security Hub's ASFF, Prowler's OCSF) about one resource."""

    position: int
    tool: str  # "securityhub", "prowler"
    uid: str  # the tool's finding id
    check_id: str  # Security Hub's control id (SSM.1) or generator, Prowler's check (event_code)
    title: str
    severity: str
    status: str  # passed, failed, warning, not_available, manual
    cloud: str
    account_id: str
    resource_uid: str  # as the tool names it: an ARN, a resource id, a project
    resource_type: str
    types: tuple[str, ...] = ()  # ASFF's finding types ("Software and Configuration Checks/...")
    observed_at: str = ""
