"""Security controls: the groups of recommendations that carry the secure score's points."""

from django.db import models

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
