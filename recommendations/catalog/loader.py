"""The versioned catalog file (controls, recommendations, membership) and its recommendations' rows.

The catalog is data, not code. scoring/catalog.py loads the whole file: the controls live with the
score, above this app.
"""

import json
from pathlib import Path
from typing import Any

from recommendations.models import Recommendation

CATALOG_PATH = Path(__file__).with_name("catalog.json")


def read_catalog(path: Path = CATALOG_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def load_recommendations(catalog: dict[str, Any]) -> dict[str, Recommendation]:
    """Create or update every recommendation of the catalog; returns them by key."""
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
    return by_key
