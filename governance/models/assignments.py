"""Assigned items: an assessment (resource x recommendation), or one failed rule under it."""

from django.conf import settings
from django.db import models

from governance.models.rules import GovernanceRule
from governance.models.teams import Team
from recommendations.models import Assessment, Finding


class AssignmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"
    RESOLVED = "resolved", "Resolved"


class Assignment(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="assignments")
    # Set when the item is one failed OS-configuration rule of the assessment's machine.
    finding = models.ForeignKey(
        Finding, on_delete=models.CASCADE, null=True, blank=True, related_name="assignments"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    owner = models.EmailField(blank=True, default="")
    # The rule that made it; None for a manual assignment, which no rule overrides.
    rule = models.ForeignKey(
        GovernanceRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="assignments"
    )
    manual = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.OPEN)
    first_detected = models.DateTimeField()
    due_date = models.DateField()
    grace_period = models.BooleanField(default=False)
    eta = models.DateField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment"],
                condition=models.Q(finding__isnull=True),
                name="one_assignment_per_assessment",
            ),
            models.UniqueConstraint(
                fields=["finding"],
                condition=models.Q(finding__isnull=False),
                name="one_assignment_per_finding",
            ),
        ]
        indexes = [models.Index(fields=["team", "status", "due_date"])]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"


class Comment(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="comments")
    # None for a note the system wrote ("reopened: the scan of ... still finds it failing").
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.assignment_id}"
