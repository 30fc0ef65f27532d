"""Keeps governance current with the evidence: after an import, exemptions cover new assessments,
rules assign new unhealthy items, and items the evidence shows fixed or still failing follow."""

from datetime import datetime

from django.db.models import Q

from governance.assignments import apply_rules, reconcile
from governance.exemptions import apply_exemptions
from posture.models import Resource
from recommendations.models import Assessment, ClusterSnapshot, Scan


def touched_since(since: datetime) -> set[int]:
    """Resources with new evidence or changed assessments since `since` (scale sets of scanned instances
    included, since their assessments roll the instances up)."""
    scanned = set(Scan.objects.filter(imported_at__gte=since).values_list("resource_id", flat=True))
    clusters = set(
        ClusterSnapshot.objects.filter(imported_at__gte=since).values_list("cluster_id", flat=True)
    )
    changed = set(Assessment.objects.filter(updated_at__gte=since).values_list("resource_id", flat=True))
    parents = set(
        Resource.objects.filter(Q(pk__in=scanned), parent__isnull=False).values_list("parent_id", flat=True)
    )
    return scanned | clusters | changed | {p for p in parents if p is not None}


def after_ingest(since: datetime) -> dict[str, int]:
    resources = touched_since(since)
    if not resources:
        return {}
    exempted = apply_exemptions(resources)
    assigned = apply_rules(resources)
    followed = reconcile(resources, evidence_at=since)
    return {
        "items_assigned": assigned,
        "assessments_exempted": exempted,
        **{f"items_{k}": v for k, v in followed.items()},
    }


def everywhere() -> dict[str, int]:
    """The periodic catch-up: evidence that arrived other ways (heartbeats, the agent task)."""
    return {"items_assigned": apply_rules(), "assessments_exempted": apply_exemptions()}
