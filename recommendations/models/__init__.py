"""Models of the recommendations app: the catalog, assessments, OS-configuration rules and findings."""

from recommendations.models.assessments import Assessment, AssessmentStatus
from recommendations.models.catalog import Recommendation, Severity
from recommendations.models.cloud_findings import CloudFinding
from recommendations.models.findings import Finding, FindingState, ResultValue, Scan, ScanResult
from recommendations.models.kubernetes import (
    AppArmorViolation,
    ClusterSnapshot,
    ContainerType,
    ProfileSource,
    WorkloadKind,
)
from recommendations.models.rules import Benchmark, Rule, RuleSeverity
from recommendations.models.tallies import (
    MachineTally,
    RuleTally,
    TowerMachine,
    TowerRuleTally,
    TowerTileTally,
)

__all__ = [
    "AppArmorViolation",
    "Assessment",
    "AssessmentStatus",
    "Benchmark",
    "CloudFinding",
    "ClusterSnapshot",
    "ContainerType",
    "Finding",
    "FindingState",
    "MachineTally",
    "ProfileSource",
    "Recommendation",
    "ResultValue",
    "Rule",
    "RuleSeverity",
    "RuleTally",
    "Scan",
    "ScanResult",
    "Severity",
    "TowerMachine",
    "TowerRuleTally",
    "TowerTileTally",
    "WorkloadKind",
]
