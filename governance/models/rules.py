"""Governance rules: which unhealthy items go to which team or owner, and by when."""

from django.db import models

from governance.models.teams import Team


class Timeframe(models.IntegerChoices):
    WEEK = 7, "7 days"
    TWO_WEEKS = 14, "14 days"
    MONTH = 30, "30 days"
    QUARTER = 90, "90 days"


class GovernanceRule(models.Model):
    """Selects recommendations and resources; the first active rule by priority that matches assigns.

    Empty selectors match everything. The owner is a team, an email, or the value of a resource tag.
    """

    name = models.CharField(max_length=200, unique=True)
    priority = models.PositiveIntegerField(help_text="lower runs first")
    active = models.BooleanField(default=True)
    # What it selects.
    severities = models.JSONField(default=list, blank=True, help_text='e.g. ["high", "critical"]')
    recommendation_keys = models.JSONField(default=list, blank=True)
    subscription_names = models.JSONField(default=list, blank=True)
    resource_group = models.CharField(max_length=200, blank=True, default="")
    tag_key = models.CharField(max_length=200, blank=True, default="")
    tag_value = models.CharField(max_length=200, blank=True, default="")
    os = models.CharField(max_length=10, blank=True, default="")
    kinds = models.JSONField(default=list, blank=True)
    # Who gets it.
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="rules")
    owner_email = models.EmailField(blank=True, default="")
    owner_tag = models.CharField(
        max_length=200, blank=True, default="", help_text="read the owner from this tag"
    )
    timeframe_days = models.PositiveSmallIntegerField(choices=Timeframe.choices, default=Timeframe.MONTH)
    grace_period = models.BooleanField(
        default=False, help_text="the item does not lower the score until it is overdue"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [models.UniqueConstraint(fields=["priority"], name="one_rule_per_priority")]

    def __str__(self) -> str:
        return f"{self.priority}. {self.name}"
