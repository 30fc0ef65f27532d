"""Exemption requests: a tower asks to defer items (Waiver, Mitigated or Risk accepted, until a date);
an analyst or admin other than the requester approves or rejects; approved ones expire on their date."""

from django.conf import settings
from django.db import models

from governance.models.assignments import Assignment
from governance.models.exemptions import Exemption


class RequestCategory(models.TextChoices):
    MITIGATED = "mitigated", "Mitigated"
    WAIVER = "waiver", "Waiver"
    # The item stays Unhealthy in the score; its status is Risk accepted until the expiry.
    RISK_ACCEPTED = "risk_accepted", "Risk accepted"


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class ExemptionRequest(models.Model):
    items = models.ManyToManyField(Assignment, related_name="exemption_requests")
    category = models.CharField(max_length=20, choices=RequestCategory.choices)
    justification = models.TextField()
    # The last day the exemption holds: it ends when that day is over.
    expires_on = models.DateField()
    state = models.CharField(max_length=20, choices=RequestState.choices, default=RequestState.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")
    # The exemptions an approved Waiver or Mitigated request made (one per resource and recommendation).
    exemptions = models.ManyToManyField(Exemption, blank=True, related_name="requests")
    # When the owner and the lead were told it expires within a week; when it expired.
    warned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["state", "expires_on"])]

    def __str__(self) -> str:
        return f"exemption request #{self.pk} ({self.get_category_display()}, {self.get_state_display()})"
