"""Defender for Cloud's own secure score: `microsoft.security/securescores` (a subscription's score)
and `microsoft.security/securescores/securescorecontrols` (its controls) records.

Read from Resource Graph (`az graph query -q "securityresources | where type == ..."`: a list, or the
object with `data`) or the REST API's list responses (`.../secureScores` and
`.../secureScores/ascScore/secureScoreControls`: `{"value": [...]}`, pages too). Only Defender's
default initiative (`ascScore`) is read: it is the score Posture computes; others are counted.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from posture.errors import RejectedFile, shown
from posture.importers.arg import export_items
from posture.importers.json_input import parse_json

SCORE_TYPE = "microsoft.security/securescores"
CONTROL_TYPE = "microsoft.security/securescores/securescorecontrols"
DEFAULT_INITIATIVE = "ascscore"
SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)/providers/microsoft\.security/securescores/([^/]+)", re.I)
NOT_SCORES = (
    "not a Defender secure score export: expected a JSON list of securescores / securescorecontrols "
    "records, an object with a 'data' list (az graph query) or a 'value' list (the REST API's response)"
)


@dataclass(frozen=True)
class ReportedScoreRecord:
    """Defender's figure for one subscription: its score (`control_key` '') or one control's."""

    position: int
    subscription_id: str
    control_key: str  # the control's Defender id (its record's `name`); '' for the whole score
    display_name: str
    current: Decimal
    max: int
    percentage: Decimal
    weight: int
    healthy: int = 0
    unhealthy: int = 0
    not_applicable: int = 0


def read_defender_scores(stream: Any) -> Iterator[ReportedScoreRecord | str]:
    """Each record of the default initiative; a record of another initiative yields its name only
    (counted, not stored)."""
    items = export_items(parse_json(stream.read()), NOT_SCORES)
    if not items:
        raise RejectedFile("the export holds no secure score record")
    for position, item in enumerate(items, start=1):
        yield _record(position, item)


def _record(position: int, item: Any) -> ReportedScoreRecord | str:
    where = f"record {position}"
    if not isinstance(item, dict):
        raise RejectedFile(f"{where}: expected an object")
    kind = str(item.get("type", "")).lower()
    if kind not in (SCORE_TYPE, CONTROL_TYPE):
        raise RejectedFile(
            f"{where}: type {shown(item.get('type'))} is not {SCORE_TYPE} or {CONTROL_TYPE} "
            "(one export per kind of record: import assessments on their own)"
        )
    found = SUBSCRIPTION.match(str(item.get("id", "")))
    if found is None:
        raise RejectedFile(f"{where}: id {shown(item.get('id'))} is not a subscription's secure score")
    subscription_id, initiative = found.group(1), found.group(2)
    if initiative.lower() != DEFAULT_INITIATIVE:
        return initiative
    properties = item.get("properties")
    if not isinstance(properties, dict) or not isinstance(properties.get("score"), dict):
        raise RejectedFile(f"{where}: properties.score is missing")
    score = properties["score"]
    control = kind == CONTROL_TYPE
    return ReportedScoreRecord(
        position=position,
        subscription_id=subscription_id,
        control_key=str(item.get("name", "")).lower() if control else "",
        display_name=str(properties.get("displayName", "")).strip(),
        current=_decimal(where, "score.current", score.get("current")),
        max=_count(where, "score.max", score.get("max")),
        percentage=_decimal(where, "score.percentage", score.get("percentage", 0)),
        weight=_count(where, "weight", properties.get("weight", 0)),
        healthy=_count(where, "healthyResourceCount", properties.get("healthyResourceCount", 0)),
        unhealthy=_count(where, "unhealthyResourceCount", properties.get("unhealthyResourceCount", 0)),
        not_applicable=_count(
            where, "notApplicableResourceCount", properties.get("notApplicableResourceCount", 0)
        ),
    )


def _decimal(where: str, name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RejectedFile(f"{where}: {name} {shown(value)} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RejectedFile(f"{where}: {name} {shown(value)} is not a number") from None
    if not number.is_finite() or number < 0 or number > 10**9:
        raise RejectedFile(f"{where}: {name} {shown(value)} is out of range")
    return number


def _count(where: str, name: str, value: Any) -> int:
    number = _decimal(where, name, value)
    if number != number.to_integral_value():
        raise RejectedFile(f"{where}: {name} {shown(value)} is not a whole number")
    return int(number)
