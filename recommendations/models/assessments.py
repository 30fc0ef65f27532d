"""Assessments: the state of each resource against each recommendation, and why (the statuses are
posture/choices.py's, where the Defender importer uses them without a model)."""

from django.db import models

from posture import lengths
from posture.choices import AssessmentStatus as AssessmentStatus
from posture.models import Resource
from recommendations.models.catalog import Recommendation


class Assessment(models.Model):
    """The state of one resource against one recommendation, and why."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="assessments")
    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="assessments")
    status = models.CharField(max_length=20, choices=AssessmentStatus.choices)
    # Defender's machine-readable cause (e.g. OffByPolicy) and the human reason shown in the Reason column.
    cause = models.CharField(max_length=lengths.ASSESSMENT_CAUSE, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    first_evaluated = models.DateTimeField()
    status_changed = models.DateTimeField()
    source = models.CharField(max_length=40)
    # While an exemption applies, status and reason say so (Not applicable, "Exempted: Waiver") and the
    # evaluated ones wait here, kept current by the evaluators, for when it ends. "" = not exempted.
    held_status = models.CharField(max_length=20, choices=AssessmentStatus.choices, blank=True, default="")
    held_reason = models.TextField(blank=True, default="")
    # An Unhealthy item in its governance grace period does not lower the score until this day passes.
    grace_until = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "recommendation"], name="one_assessment_per_pair")
        ]
        indexes = [
            models.Index(fields=["recommendation", "status"]),
            # Assessments by when they last changed (the API orders by it).
            models.Index(fields=["updated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.resource} / {self.recommendation}: {self.status}"

    @property
    def exempted(self) -> bool:
        return bool(self.held_status)
