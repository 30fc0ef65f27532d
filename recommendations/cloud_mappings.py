"""The catalog's mapping table of cloud findings (catalog/cloud_findings.json): which findings of
Security Hub and Prowler are evidence for which recommendation of a machine."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MAPPINGS_PATH = Path(__file__).with_name("catalog") / "cloud_findings.json"
CLOUD_AGENT = "cloud_agent"
OS_CONFIGURATION = "os_configuration"


@dataclass(frozen=True)
class Mapping:
    tool: str
    meaning: str
    recommendations: dict[str, str]  # by the machine's OS, "*" for any
    control: str = ""
    check: str = ""
    finding_type: str = ""
    agent: str = ""

    def recommendation_for(self, os: str) -> str:
        return self.recommendations.get(os) or self.recommendations.get("*", "")


@cache
def mappings() -> tuple[Mapping, ...]:
    with MAPPINGS_PATH.open(encoding="utf-8") as handle:
        data = json.load(handle)
    return tuple(
        Mapping(
            tool=item["tool"],
            meaning=item["meaning"],
            recommendations=dict(item["recommendations"]),
            control=item.get("control", ""),
            check=item.get("check", ""),
            finding_type=item.get("type", ""),
            agent=item.get("agent", ""),
        )
        for item in data["mappings"]
    )


def mapping_for(tool: str, check_id: str, types: tuple[str, ...] | list[str]) -> Mapping | None:
    """The mapping a finding falls under: by its control or check id, else by one of its types."""
    for mapping in mappings():
        if mapping.tool != tool:
            continue
        if (mapping.control and mapping.control == check_id) or (mapping.check and mapping.check == check_id):
            return mapping
        if mapping.finding_type and mapping.finding_type in types:
            return mapping
    return None
