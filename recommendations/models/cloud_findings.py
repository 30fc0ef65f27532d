"""Findings of the clouds' own security tools (Security Hub, Prowler): stored whole, mapped to a
recommendation when the catalog's mapping table says they are evidence for one, else listed as other
findings of their machine or account."""

from django.db import models

from posture import lengths
from posture.models import Resource, Subscription
from recommendations.models.catalog import Recommendation


class CloudFinding(models.Model):
    tool = models.CharField(max_length=20)
    # The finding's identity in its tool, with its check and resource (one finding may name several
    # resources; Prowler's sample reports repeat a placeholder uid): sha256 of the three.
    key = models.CharField(max_length=64)
    uid = models.CharField(max_length=lengths.FINDING_UID)
    check_id = models.CharField(max_length=lengths.FINDING_CHECK)
    title = models.CharField(max_length=lengths.FINDING_TITLE, blank=True, default="")
    severity = models.CharField(max_length=lengths.FINDING_SEVERITY, blank=True, default="")
    status = models.CharField(max_length=20)
    cloud = models.CharField(max_length=10, blank=True, default="")
    account_id = models.CharField(max_length=lengths.SUBSCRIPTION_NAME, blank=True, default="")
    resource_uid = models.CharField(max_length=lengths.RESOURCE_ID)
    resource_type = models.CharField(max_length=lengths.FINDING_RESOURCE_TYPE, blank=True, default="")
    types = models.JSONField(default=list, blank=True)
    observed_at = models.CharField(max_length=lengths.FINDING_TIME, blank=True, default="")
    resource = models.ForeignKey(
        Resource, on_delete=models.SET_NULL, null=True, blank=True, related_name="cloud_findings"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="cloud_findings"
    )
    # Set when the mapping table makes the finding evidence for a recommendation of its machine.
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.SET_NULL, null=True, blank=True, related_name="cloud_findings"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["check_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["tool", "key"], name="one_cloud_finding_per_key")]
        indexes = [models.Index(fields=["subscription", "recommendation"], name="cloudfinding_scope")]

    def __str__(self) -> str:
        return f"{self.tool} {self.check_id} {self.status} on {self.resource_uid}"
