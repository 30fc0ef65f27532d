"""The recommendation catalog: what Posture checks, with Defender's keys and names."""

from django.db import models


class Severity(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Recommendation(models.Model):
    key = models.SlugField(max_length=100, unique=True)
    # The GUID Defender names its assessments by (Resource Graph `name`).
    assessment_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=300)
    # Earlier or alternative display names Defender used; imports match on these too.
    other_names = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, default="")
    remediation = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    preview = models.BooleanField(default=False)
    applies_to_kinds = models.JSONField(default=list)
    applies_to_os = models.CharField(max_length=10, blank=True, default="")
    catalog_version = models.CharField(max_length=40)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name
