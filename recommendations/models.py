"""The recommendation catalog and the assessments of resources against it."""

from django.db import models

from posture.models import Resource


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


class AssessmentStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    UNHEALTHY = "unhealthy", "Unhealthy"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Assessment(models.Model):
    """The state of one resource against one recommendation, and why."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="assessments")
    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="assessments")
    status = models.CharField(max_length=20, choices=AssessmentStatus.choices)
    # Defender's machine-readable cause (e.g. OffByPolicy) and the human reason shown in the Reason column.
    cause = models.CharField(max_length=100, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    first_evaluated = models.DateTimeField()
    status_changed = models.DateTimeField()
    source = models.CharField(max_length=40)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "recommendation"], name="one_assessment_per_pair")
        ]
        indexes = [models.Index(fields=["recommendation", "status"])]

    def __str__(self) -> str:
        return f"{self.resource} / {self.recommendation}: {self.status}"
