"""Loads the versioned catalog (controls, recommendations, membership, baselines) into the database.

A new catalog file replaces the old membership of the controls while assessments stay attached to
their recommendations. The controls are the score's, so the whole file is loaded from here.
"""

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from recommendations.catalog.baselines import BaselineLoadResult, load_baselines
from recommendations.catalog.loader import CATALOG_PATH, load_recommendations, read_catalog
from scoring.models import Control


@dataclass(frozen=True)
class CatalogLoadResult:
    version: str
    controls: int
    recommendations: int
    baselines: list[BaselineLoadResult]


@transaction.atomic
def load_catalog(path: Path = CATALOG_PATH) -> CatalogLoadResult:
    """Create or update every control and recommendation of the catalog file, and the published
    baselines' rules; idempotent."""
    catalog = read_catalog(path)
    version = catalog["catalog_version"]
    by_key = load_recommendations(catalog)
    for position, item in enumerate(catalog["controls"]):
        control, _ = Control.objects.update_or_create(
            name=item["name"],
            defaults={
                "max_score": item["max_score"],
                "defender_id": item["defender_id"],
                "position": position,
                "catalog_version": version,
            },
        )
        control.recommendations.set([by_key[key] for key in item["recommendations"]])
    return CatalogLoadResult(
        version=version,
        controls=len(catalog["controls"]),
        recommendations=len(by_key),
        baselines=load_baselines(),
    )
