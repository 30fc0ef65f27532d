# The towers' summaries (recommendations 0008) start from what the items say: each tower's machines
# (its items' resources and the instances of such a scale set) and their findings' tallies. Later
# changes go through governance/towers.py; this fills them once, with the models as they are here.

from collections import defaultdict
from typing import Any

from django.db import migrations


def fill(apps: Any, schema_editor: Any) -> None:
    Assignment = apps.get_model("governance", "Assignment")
    Resource = apps.get_model("posture", "Resource")
    Finding = apps.get_model("recommendations", "Finding")
    TowerMachine = apps.get_model("recommendations", "TowerMachine")
    TowerRuleTally = apps.get_model("recommendations", "TowerRuleTally")
    teams: dict[int, set[int]] = defaultdict(set)
    for resource_id, team_id in Assignment.objects.filter(team__isnull=False).values_list(
        "assessment__resource_id", "team_id"
    ):
        teams[resource_id].add(team_id)
    towers_of: dict[int, set[int]] = defaultdict(set)
    for resource_id, team_ids in teams.items():
        towers_of[resource_id] |= team_ids
    for pk, parent_id in Resource.objects.filter(parent_id__in=list(teams)).values_list("pk", "parent_id"):
        towers_of[pk] |= teams[parent_id]
    TowerMachine.objects.bulk_create(
        [TowerMachine(tower_id=t, resource_id=pk) for pk, ts in towers_of.items() for t in ts],
        batch_size=1000,
    )
    totals: dict[tuple[int, int, str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = Finding.objects.filter(resource_id__in=list(towers_of)).values_list(
        "resource_id", "resource__subscription_id", "resource__os", "rule_id", "state"
    )
    for resource_id, subscription_id, machine_os, rule_id, state in rows.iterator(chunk_size=20000):
        counts = (int(state == "open"), int(state in ("passed", "resolved")), 1)
        for tower in towers_of[resource_id]:
            total = totals[(tower, subscription_id, machine_os, rule_id)]
            for index in range(3):
                total[index] += counts[index]
    TowerRuleTally.objects.bulk_create(
        [
            TowerRuleTally(
                tower_id=tower,
                subscription_id=sub,
                machine_os=machine_os,
                rule_id=rule,
                open_count=a,
                passing_count=b,
                evaluated_count=c,
            )
            for (tower, sub, machine_os, rule), (a, b, c) in totals.items()
        ],
        batch_size=5000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0004_audit_event_moves_to_audit"),
        ("recommendations", "0008_i17_tower_summaries"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
