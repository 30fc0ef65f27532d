"""What the pages show of the clouds' own tools' findings: a machine's, and a scope's other findings
(those no mapping makes evidence for a recommendation: listed, not scored)."""

from dataclasses import dataclass

from django.db.models import F, QuerySet

from posture.models import Resource
from posture.scope import Scope
from recommendations.models import CloudFinding

OTHER_FINDINGS_SHOWN = 25


@dataclass(frozen=True)
class OtherFindings:
    shown: list[CloudFinding]
    total: int


def machine_cloud_findings(resource: Resource) -> QuerySet[CloudFinding]:
    """Every finding about the machine, the ones that count toward a recommendation first."""
    return (
        CloudFinding.objects.filter(resource=resource)
        .select_related("recommendation")
        .order_by(F("recommendation").asc(nulls_last=True), "status", "check_id", "pk")
    )


def scope_other_findings(scope: Scope) -> OtherFindings | None:
    """The other findings of one subscription, account or project (None for the estate or a group);
    a tower's members see those of their machines only, not the account's own."""
    if scope.subscription_ids is None or len(scope.subscription_ids) != 1:
        return None
    findings = CloudFinding.objects.filter(
        subscription_id=scope.subscription_ids[0], recommendation__isnull=True
    )
    if scope.resources is not None:
        findings = findings.filter(resource__in=scope.resources)
    total = findings.count()
    if not total:
        return None
    shown = list(
        findings.select_related("resource").order_by("status", "check_id", "pk")[:OTHER_FINDINGS_SHOWN]
    )
    return OtherFindings(shown=shown, total=total)
