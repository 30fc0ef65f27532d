"""Loads the versioned catalog (controls, recommendations, membership) into the database.

The catalog is data, not code: membership of a control changes over time, so a new catalog file
replaces the old membership while assessments stay attached to their recommendations.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

CATALOG_PATH = Path(__file__).with_name("catalog.json")


@dataclass(frozen=True)
class CatalogLoadResult:
    version: str
    controls: int
    recommendations: int


def read_catalog(path: Path = CATALOG_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@transaction.atomic
def load_catalog(path: Path = CATALOG_PATH) -> CatalogLoadResult:
    """Create or update every control and recommendation of the catalog file; idempotent."""
    from recommendations.models import Recommendation
    from scoring.models import Control

    catalog = read_catalog(path)
    version = catalog["catalog_version"]
    by_key: dict[str, Recommendation] = {}
    for item in catalog["recommendations"]:
        applies_to = item["applies_to"]
        recommendation, _ = Recommendation.objects.update_or_create(
            key=item["key"],
            defaults={
                "assessment_key": item["assessment_key"],
                "display_name": item["display_name"],
                "other_names": item.get("other_names", []),
                "description": item["description"],
                "remediation": item["remediation"],
                "severity": item["severity"],
                "preview": item["preview"],
                "applies_to_kinds": applies_to["kinds"],
                "applies_to_os": applies_to.get("os", ""),
                "catalog_version": version,
            },
        )
        by_key[recommendation.key] = recommendation
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
    return CatalogLoadResult(version=version, controls=len(catalog["controls"]), recommendations=len(by_key))
