"""Keeps governance current with the evidence: after an import, exemptions cover new assessments,
rules assign new unhealthy items, and items the evidence shows fixed or still failing follow."""

from collections.abc import Collection
from datetime import datetime

from governance.assignments import apply_rules, reconcile
from governance.exemptions import apply_exemptions
from governance.towers import refresh_tower_summaries


def follow_evidence(resource_ids: Collection[int], *, evidence_at: datetime) -> dict[str, int]:
    """Governance of the resources new evidence is about or whose assessments changed (the import
    pipeline says which), as of `evidence_at`."""
    if not resource_ids:
        return {}
    exempted = apply_exemptions(resource_ids)
    assigned = apply_rules(resource_ids)
    followed = reconcile(resource_ids, evidence_at=evidence_at)
    # The evaluators may have dropped assessments that no longer apply, and their items with them.
    refresh_tower_summaries(resource_ids)
    return {
        "items_assigned": assigned,
        "assessments_exempted": exempted,
        **{f"items_{k}": v for k, v in followed.items()},
    }


def everywhere() -> dict[str, int]:
    """The periodic catch-up: evidence that arrived other ways (heartbeats, the agent task), and items
    removed with their assessment (the agent task drops assessments that no longer apply)."""
    counts = {"items_assigned": apply_rules(), "assessments_exempted": apply_exemptions()}
    refresh_tower_summaries()
    return counts
