"""The towers' summaries: which machines each tower sees, and their findings' tallies, kept current.

A tower (a team) sees the machines its items are on and the instances of such a scale set
(governance/scoping.py reads that set). `refresh_tower_summaries` is the one hook: every service that
creates items, gives them to another team or removes them calls it with the items' resources; the
machines entering or leaving a tower take their findings into or out of its tallies
(recommendations/tallies.py, the code that keeps the estate's tallies), and imports keep the tallies of
the machines a tower already sees current through that same code.
"""

from collections import defaultdict
from collections.abc import Iterable

from governance.models import Assignment
from posture.models import with_instances
from recommendations.models import TowerMachine
from recommendations.tallies import place_in_towers

CHUNK = 1000


def refresh_tower_summaries(resource_ids: Iterable[int] | None = None) -> None:
    """After items of these resources (None: of any resource) were created, moved to another team or
    removed: put each concerned machine in exactly the towers that see it now."""
    if resource_ids is None:
        concerned = set(
            Assignment.objects.filter(team__isnull=False).values_list("assessment__resource_id", flat=True)
        )
        concerned |= set(TowerMachine.objects.values_list("resource_id", flat=True))
    else:
        concerned = set(resource_ids)
    ids = sorted(concerned)
    for start in range(0, len(ids), CHUNK):
        place_in_towers(_towers_seeing(ids[start : start + CHUNK]))


def _towers_seeing(resource_ids: list[int]) -> dict[int, set[int]]:
    """The towers that see these resources and the instances of those that are scale sets."""
    # An item on a scale set rolls its instances up: they are the tower's too.
    parent_of = dict(with_instances(resource_ids).values_list("pk", "parent_id").order_by())
    holders = set(parent_of) | {parent for parent in parent_of.values() if parent is not None}
    teams: dict[int, set[int]] = defaultdict(set)
    rows = (
        Assignment.objects.filter(team__isnull=False, assessment__resource_id__in=holders)
        .values_list("assessment__resource_id", "team_id")
        .distinct()
        .order_by()
    )
    for resource_id, team_id in rows:
        teams[resource_id].add(team_id)
    return {
        pk: teams[pk] | (teams[parent] if parent is not None else set()) for pk, parent in parent_of.items()
    }
