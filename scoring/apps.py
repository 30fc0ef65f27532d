"""App configuration of the controls and the score engine."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_catalog(sender: AppConfig, **kwargs: Any) -> None:
    # The catalog must exist wherever the schema does (fresh installs, test databases, flushes).
    from scoring.catalog import load_catalog

    load_catalog()


class ScoringConfig(AppConfig):
    name = "scoring"

    def ready(self) -> None:
        post_migrate.connect(_load_catalog, sender=self, dispatch_uid="scoring.load_catalog")
