"""Which sources named a machine, and when: the machine page's "Sources" card.

The clouds' inventories and agent reports record their sightings as they import (ResourceSighting);
scans, Defender exports and heartbeats are read from what they stored anyway.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min

from posture.models import AgentEvidence, Resource, ResourceSighting
from recommendations.models import Assessment, CloudFinding, Scan

TOOL_LABELS = {"securityhub": "AWS Security Hub findings", "prowler": "Prowler findings"}
SCAN_LABELS = {
    "arf": "OpenSCAP scan (ARF)",
    "xccdf": "OpenSCAP scan (XCCDF)",
    "securitybaseline": "SecurityBaseline export",
}


@dataclass(frozen=True)
class SourceRow:
    source: str
    first_seen: datetime | None
    last_seen: datetime | None


def machine_sources(resource: Resource) -> list[SourceRow]:
    """Every source that named the machine, the first time first."""
    rows = [
        SourceRow(s.source, s.first_seen, s.last_seen)
        for s in ResourceSighting.objects.filter(resource=resource)
    ]
    scans = (
        Scan.objects.filter(resource=resource)
        .values("source_format")
        .annotate(first=Min("scanned_at"), last=Max("scanned_at"))
        .order_by()
    )
    rows += [
        SourceRow(SCAN_LABELS.get(s["source_format"], s["source_format"]), s["first"], s["last"])
        for s in scans
    ]
    defender = Assessment.objects.filter(resource=resource, source="defender_export").aggregate(
        first=Min("first_evaluated"), last=Max("updated_at")
    )
    if defender["first"] is not None:
        rows.append(SourceRow("Defender for Cloud export", defender["first"], defender["last"]))
    tools = (
        CloudFinding.objects.filter(resource=resource)
        .values("tool")
        .annotate(first=Min("imported_at"), last=Max("imported_at"))
        .order_by()
    )
    rows += [SourceRow(TOOL_LABELS.get(t["tool"], t["tool"]), t["first"], t["last"]) for t in tools]
    if resource.agent_evidence == AgentEvidence.HEARTBEAT and resource.last_heartbeat is not None:
        rows.append(SourceRow("Agent heartbeat", None, resource.last_heartbeat))
    return sorted(rows, key=lambda row: (row.first_seen or row.last_seen or resource.created_at, row.source))
