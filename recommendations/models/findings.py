"""Scans, their rule results (the evidence, per scan) and findings (the state per machine x rule).

Findings are derived from the results of all scans of a machine, ordered by scan time, so the order in
which scan files arrive does not change the outcome.
"""

from django.db import models

from posture import lengths
from posture.models import Resource
from recommendations.models.rules import Benchmark, Rule, RuleSeverity

# The one order of a machine's scans, everywhere (findings, history, tallies, import summaries, the
# last scan an evaluation reads): the scan's end time, then the SHA-256 of its file, stored at import
# and unique per machine, so two scans taken at the same moment order the same whichever arrived
# first, and after any sequence of imports.
SCAN_ORDER = ("scanned_at", "file_sha256", "pk")


class Scan(models.Model):
    OLDEST_FIRST = SCAN_ORDER
    NEWEST_FIRST = tuple(f"-{name}" for name in SCAN_ORDER)

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="scans")
    benchmark = models.ForeignKey(Benchmark, on_delete=models.SET_NULL, null=True, blank=True)
    profile_id = models.CharField(max_length=lengths.PROFILE_ID, blank=True, default="")
    profile_title = models.CharField(max_length=lengths.PROFILE_TITLE, blank=True, default="")
    source_format = models.CharField(max_length=30)
    # When the scanner evaluated the machine; findings follow this order, not the import order.
    scanned_at = models.DateTimeField(db_index=True)
    file_sha256 = models.CharField(max_length=64)
    target_hostname = models.CharField(max_length=300, blank=True, default="")
    target_fqdn = models.CharField(max_length=lengths.SCAN_TARGET_FQDN, blank=True, default="")
    target_addresses = models.JSONField(default=list, blank=True)
    target_os = models.CharField(max_length=lengths.SCAN_TARGET_OS, blank=True, default="")
    result_counts = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [f"-{name}" for name in SCAN_ORDER]
        constraints = [
            models.UniqueConstraint(fields=["resource", "file_sha256"], name="one_scan_per_file_and_machine")
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.profile_id} {self.scanned_at:%Y-%m-%d %H:%M}"


class ResultValue(models.TextChoices):
    """XCCDF 1.2 rule-result values; Defender's baseline gives only pass and fail."""

    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    ERROR = "error", "Error"
    UNKNOWN = "unknown", "Unknown"
    NOT_APPLICABLE = "notapplicable", "Not applicable"
    NOT_CHECKED = "notchecked", "Not checked"
    NOT_SELECTED = "notselected", "Not selected"
    INFORMATIONAL = "informational", "Informational"
    FIXED = "fixed", "Fixed"


class ScanResult(models.Model):
    # The biggest table (a row per rule result): no index its unique constraint already provides, since
    # every index costs each of millions of inserts. (scan, rule) serves the scan; rule_id the rule.
    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="results", db_index=False)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="results")
    result = models.CharField(max_length=20, choices=ResultValue.choices)
    severity = models.CharField(max_length=10, choices=RuleSeverity.choices, default=RuleSeverity.UNKNOWN)
    expected = models.TextField(blank=True, default="")
    actual = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scan", "rule"], name="one_result_per_scan_and_rule")]

    def __str__(self) -> str:
        return f"scan {self.scan_id} / rule {self.rule_id}: {self.result}"


class FindingState(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    # Evaluated and never failed: not a finding, but the baseline counts it as passing.
    PASSED = "passed", "Passed"
    # error / unknown results: shown as not evaluated, never as failed.
    NOT_EVALUATED = "not_evaluated", "Not evaluated"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Finding(models.Model):
    # Resource and rule are served by the composite indexes below (their leading column), not by
    # single-column ones that every insert would have to maintain too.
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="findings", db_index=False)
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="findings", db_index=False)
    state = models.CharField(max_length=20, choices=FindingState.choices)
    result = models.CharField(max_length=20, choices=ResultValue.choices)
    severity = models.CharField(max_length=10, choices=RuleSeverity.choices, default=RuleSeverity.UNKNOWN)
    expected = models.TextField(blank=True, default="")
    actual = models.TextField(blank=True, default="")
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    scan = models.ForeignKey(Scan, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "rule"], name="one_finding_per_machine_and_rule")
        ]
        indexes = [
            models.Index(fields=["rule", "state"]),
            models.Index(fields=["resource", "state"]),
            models.Index(fields=["state", "severity"]),
        ]

    def __str__(self) -> str:
        return f"{self.resource} / {self.rule.key}: {self.state}"
