"""Security controls: the groups of recommendations that carry the secure score's points; and the
score's history, one row per (moment, subscription or the estate, control or the score itself)."""

from django.db import models

from posture.models import Subscription
from recommendations.models import Recommendation


class Control(models.Model):
    name = models.CharField(max_length=200, unique=True)
    max_score = models.PositiveIntegerField()
    defender_id = models.CharField(max_length=64, blank=True, default="")
    position = models.PositiveIntegerField(default=0)
    recommendations = models.ManyToManyField(Recommendation, related_name="controls", blank=True)
    catalog_version = models.CharField(max_length=40)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ScorePoint(models.Model):
    """One figure of a score snapshot: the rows sharing a `taken_at` are one snapshot.

    `subscription` NULL is the whole estate; `control` NULL is the secure score of that scope (its
    `weight` the counted resources), otherwise one control with its resource counts. Controls nobody
    has assessed are left out. The (subscription, taken_at) index answers "the last N days of the
    estate or of one subscription" in one range scan.
    """

    taken_at = models.DateTimeField(db_index=True)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    control = models.ForeignKey(Control, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    current = models.DecimalField(max_digits=12, decimal_places=2)
    max = models.PositiveIntegerField()
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    healthy = models.PositiveIntegerField(default=0)
    unhealthy = models.PositiveIntegerField(default=0)
    not_applicable = models.PositiveIntegerField(default=0)
    weight = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["subscription", "taken_at"], name="scorepoint_scope_time")]

    def __str__(self) -> str:
        where = self.subscription_id or "estate"
        return f"{self.taken_at:%Y-%m-%d %H:%M} {where} {self.control_id or 'score'}"


class SnapshotClock(models.Model):
    """When a scope's score was last snapshotted (stored or found unchanged), and since when a change
    waits for its next snapshot.

    Agents' uploads and heartbeats come by the thousand: their changes are snapshotted at most once a
    minute, the ones in between marked due and taken by the next snapshot (the next import, or beat's
    task a minute later). `scope` 0 is the estate, any other value a subscription's id.
    """

    ESTATE = 0

    scope = models.PositiveIntegerField(unique=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    due_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.scope or 'estate'} taken {self.taken_at} due {self.due_since}"


class ReportedScore(models.Model):
    """Defender for Cloud's own figure for a subscription, as its secure score export said: the score
    itself (`control_key` '') or one control's (`control` set when the catalog knows it). Posture's
    score is shown beside it; nothing here is scored. `imported_at` is when the export was imported
    (Defender's score records carry no time of their own)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    control_key = models.CharField(max_length=64, blank=True, default="")
    control = models.ForeignKey(Control, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    display_name = models.CharField(max_length=200, blank=True, default="")
    current = models.DecimalField(max_digits=12, decimal_places=2)
    max = models.PositiveIntegerField()
    percentage = models.DecimalField(max_digits=7, decimal_places=4)
    weight = models.PositiveIntegerField(default=0)
    healthy = models.PositiveIntegerField(default=0)
    unhealthy = models.PositiveIntegerField(default=0)
    not_applicable = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "control_key"], name="reportedscore_one_per_control"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.display_name or 'score'}: {self.current}/{self.max}"
