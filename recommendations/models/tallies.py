"""Summary tables of findings, kept current by every import so the pages never count millions of rows.

RuleTally: per subscription, rule, machine OS and machine kind (a VM, an Arc machine, a scale set's
instance: each OS-configuration recommendation counts its own), how many machines fail the rule, pass
it, or were evaluated for it. MachineTally: per machine, its open findings by severity, rule type and rule OS.
Both can be rebuilt from the findings (`manage.py rebuild_tallies`); tests check they always agree.

A tower's summaries: TowerMachine says which machines a tower (a governance team, by id: governance
sits above and keeps these rows current through governance/towers.py) sees, and TowerRuleTally is
RuleTally over those machines only, kept current by the same writes as RuleTally; TowerTileTally sums
the machine tallies of those machines (the overview's tiles), kept current where the machine tallies,
the towers' machines and the machines' subscriptions change.
"""

from django.db import models

from posture import lengths
from posture.models import Resource, Subscription
from recommendations.models.rules import Rule


class RuleCounts(models.Model):
    """What a rule tally counts, by subscription, machine OS and machine kind (the rule: each table's)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    machine_os = models.CharField(max_length=10, blank=True, default="")
    machine_kind = models.CharField(max_length=20, blank=True, default="")
    open_count = models.IntegerField(default=0)
    passing_count = models.IntegerField(default=0)
    evaluated_count = models.IntegerField(default=0)

    class Meta:
        abstract = True


class RuleTally(RuleCounts):
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="tallies")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "rule", "machine_os", "machine_kind"], name="one_rule_tally_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}/{self.rule_id}/{self.machine_os}: {self.open_count} open"


class MachineTally(models.Model):
    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, primary_key=True, related_name="tally"
    )
    open_count = models.IntegerField(default=0)
    by_severity = models.JSONField(default=dict)
    by_rule_type = models.JSONField(default=dict)
    by_rule_os = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.resource_id}: {self.open_count} open"


class TowerMachine(models.Model):
    """A machine a tower sees: one of its items is on it, or on its scale set."""

    # governance.Team's id: this layer cannot name the model (governance is above it).
    tower_id = models.IntegerField()
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tower_id", "resource"], name="one_tower_machine")]
        indexes = [models.Index(fields=["resource"], name="tower_machine_resource")]

    def __str__(self) -> str:
        return f"tower {self.tower_id}: {self.resource_id}"


class TowerRuleTally(RuleCounts):
    """RuleTally over one tower's machines."""

    tower_id = models.IntegerField()
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="tower_tallies")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tower_id", "subscription", "rule", "machine_os", "machine_kind"],
                name="one_tower_rule_tally_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"tower {self.tower_id}/{self.subscription_id}/{self.rule_id}: {self.open_count} open"


class TowerTileTally(models.Model):
    """The overview's tiles over one tower's machines of one subscription: per tile (the total, each
    rule OS, severity and rule type), the open findings and the machines having some there."""

    TOTAL, OS, SEVERITY, RULE_TYPE = "total", "os", "severity", "type"

    tower_id = models.IntegerField()
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    tile = models.CharField(max_length=10)
    key = models.CharField(max_length=lengths.RULE_TYPE, blank=True, default="")
    failed = models.IntegerField(default=0)
    machines = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tower_id", "subscription", "tile", "key"], name="one_tower_tile_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"tower {self.tower_id}/{self.subscription_id}/{self.tile}/{self.key}: {self.failed} open"
