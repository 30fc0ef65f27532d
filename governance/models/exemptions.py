"""Exemptions: a recommendation waived or mitigated on a resource, group, subscription, or everywhere."""

from django.conf import settings
from django.db import models

from posture.models import Resource, Subscription
from recommendations.models import Recommendation


class ExemptionCategory(models.TextChoices):
    MITIGATED = "mitigated", "Mitigated"
    WAIVER = "waiver", "Waiver"


class Exemption(models.Model):
    """Exempts `recommendation` on the narrowest scope set: a resource, else a resource group of a
    subscription, else a subscription, else every resource."""

    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="exemptions")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, null=True, blank=True)
    resource_group = models.CharField(max_length=200, blank=True, default="")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, null=True, blank=True)
    category = models.CharField(max_length=20, choices=ExemptionCategory.choices)
    justification = models.TextField()
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when it expired (or was removed): it no longer applies, and is kept for the record.
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_category_display()} exemption of {self.recommendation.key}"

    @property
    def scope_label(self) -> str:
        if self.resource_id:
            return f"resource {self.resource}"
        if self.resource_group:
            return f"resource group {self.resource_group} of {self.subscription}"
        if self.subscription_id:
            return f"subscription {self.subscription}"
        return "every resource"
