"""The OS security-configuration rule catalog: one rule per CCE ID, else per benchmark rule id."""

from django.db import models

from posture import lengths
from posture.models import OperatingSystem


class Benchmark(models.Model):
    """A baseline a rule comes from: an XCCDF benchmark (SCAP Security Guide, CIS...) or Defender's."""

    benchmark_id = models.CharField(max_length=lengths.BENCHMARK_ID)
    version = models.CharField(max_length=lengths.BENCHMARK_VERSION, blank=True, default="")
    title = models.CharField(max_length=lengths.BENCHMARK_TITLE, blank=True, default="")
    os = models.CharField(max_length=10, choices=OperatingSystem.choices, blank=True, default="")
    # What its CPE platforms name ("Debian 11"), for reasons and pages; "" when it names none.
    platform = models.CharField(max_length=lengths.BENCHMARK_TITLE, blank=True, default="")
    # Digest of the rules last loaded from it: a fleet scanned with the same content skips the catalog work.
    rules_digest = models.CharField(max_length=64, blank=True, default="")
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "version"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark_id", "version"], name="one_benchmark_version")
        ]

    def __str__(self) -> str:
        return f"{self.title or self.benchmark_id} {self.version}".strip()


class RuleSeverity(models.TextChoices):
    """One scale for all sources: XCCDF high/medium/low/info/unknown; Defender Critical, Warning (medium),
    Informational (info)."""

    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFO = "info", "Informational"
    UNKNOWN = "unknown", "Unknown"


SEVERITY_RANK = {
    RuleSeverity.CRITICAL: 5,
    RuleSeverity.HIGH: 4,
    RuleSeverity.MEDIUM: 3,
    RuleSeverity.LOW: 2,
    RuleSeverity.INFO: 1,
    RuleSeverity.UNKNOWN: 0,
}


class Rule(models.Model):
    # The CCE ID where the rule has one, else its benchmark rule id (the XCCDF idref).
    key = models.CharField(max_length=lengths.RULE_KEY, unique=True)
    cce = models.CharField(max_length=lengths.CCE, blank=True, default="", db_index=True)
    rule_id = models.CharField(max_length=300, db_index=True)
    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.SET_NULL, null=True, blank=True, related_name="rules"
    )
    title = models.TextField()
    description = models.TextField(blank=True, default="")
    rationale = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=10, choices=RuleSeverity.choices, default=RuleSeverity.UNKNOWN)
    rule_type = models.CharField(max_length=lengths.RULE_TYPE, db_index=True)
    os = models.CharField(max_length=10, choices=OperatingSystem.choices, blank=True, default="")
    expected = models.TextField(blank=True, default="")
    # [{"source": "NIST SP 800-53", "ref": "CM-6(a)"}, ...]
    references = models.JSONField(default=list, blank=True)
    fix_text = models.TextField(blank=True, default="")
    fix_bash = models.TextField(blank=True, default="")
    fix_ansible = models.TextField(blank=True, default="")
    # A published baseline's own facts (recommendations/catalog/baselines.py); blank for scan-only rules.
    section = models.CharField(max_length=200, blank=True, default="")
    # A registry path and value name, a security-policy entry, an audit subcategory GUID...
    key_path = models.TextField(blank=True, default="")
    group_policy_path = models.TextField(blank=True, default="")
    group_policy_value = models.TextField(blank=True, default="")
    # Registry, Policy, Audit, OsConfig: how the setting is stored on the machine.
    value_type = models.CharField(max_length=20, blank=True, default="")
    # Delimited as ",WS2016,WS2019," so that a filter matches whole names (WS2008 is inside WS2008R2).
    os_versions = models.CharField(max_length=200, blank=True, default="")
    server_types = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"

    @property
    def os_version_list(self) -> list[str]:
        return [name for name in self.os_versions.split(",") if name]

    @property
    def server_type_list(self) -> list[str]:
        return [name for name in self.server_types.split(",") if name]
