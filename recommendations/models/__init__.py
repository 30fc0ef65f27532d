"""Models of the recommendations app: the catalog, assessments, OS-configuration rules and findings."""

from recommendations.models.assessments import Assessment, AssessmentStatus
from recommendations.models.catalog import Recommendation, Severity
from recommendations.models.findings import Finding, FindingState, ResultValue, Scan, ScanResult
from recommendations.models.rules import Benchmark, Rule, RuleSeverity

__all__ = [
    "Assessment",
    "AssessmentStatus",
    "Benchmark",
    "Finding",
    "FindingState",
    "Recommendation",
    "ResultValue",
    "Rule",
    "RuleSeverity",
    "Scan",
    "ScanResult",
    "Severity",
]
