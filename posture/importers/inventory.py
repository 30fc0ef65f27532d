"""The inventory CSV (formats/inventory.md): one resource per row, strictly validated."""

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from posture.choices import MACHINE_KINDS, AgentState, OperatingSystem, PowerState, ResourceKind
from posture.errors import RejectedFile, listed, shown
from posture.importers.limits import check_lengths
from posture.importers.records import ResourceRecord

COLUMNS = (
    "resource_id",
    "name",
    "kind",
    "os",
    "subscription",
    "resource_group",
    "parent_id",
    "tags",
    "power_state",
    "agent",
    "agent_version",
    "workspace_id",
    "last_heartbeat",
)
REQUIRED = ("resource_id", "name", "kind", "subscription")
# Columns that describe the agent only make sense beside the `agent` column that says it is there.
AGENT_DETAILS = ("agent_version", "workspace_id", "last_heartbeat")
# Field size guard: a runaway quoted field must not swallow the whole file into one cell.
MAX_FIELD = 64 * 1024


def read_inventory(stream: IO[bytes]) -> Iterator[ResourceRecord]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RejectedFile("the file is empty: an inventory CSV needs a header row")
        columns = [c.strip().lower() for c in header]
        _check_header(columns)
        states_agent = "agent" in columns
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise RejectedFile(f"line {line}: expected {len(columns)} fields, found {len(row)}")
            if any("\x00" in cell for cell in row):
                raise RejectedFile(f"line {line}: a cell holds a NUL character, which is not text")
            record = _record(line, dict(zip(columns, (c.strip() for c in row), strict=True)), states_agent)
            key = record.resource_id.lower()
            if key in seen:
                raise RejectedFile(f"line {line}: resource_id {shown(record.resource_id)} appears twice")
            seen.add(key)
            yield record
    except UnicodeDecodeError as error:
        raise RejectedFile(f"the file is not UTF-8 text (byte {error.start}: {error.reason})") from None
    except csv.Error as error:
        raise RejectedFile(f"line {reader.line_num}: malformed CSV ({error})") from None


def _check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise RejectedFile(f"unknown column(s) {listed(unknown)}; an inventory CSV has: {', '.join(COLUMNS)}")
    duplicated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if duplicated:
        raise RejectedFile(f"column(s) {', '.join(duplicated)} appear more than once in the header")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RejectedFile(f"missing required column(s): {', '.join(missing)}")
    details = [c for c in AGENT_DETAILS if c in columns]
    if details and "agent" not in columns:
        raise RejectedFile(
            f"column(s) {', '.join(details)} describe the agent: add the agent column "
            "(installed, not_installed, pending or install_failed) beside them"
        )


def _choice(line: int, column: str, value: str, choices: type[object], default: str = "") -> str:
    allowed = [c for c in choices.values if c]  # type: ignore[attr-defined]
    if value == "":
        return default
    lowered = value.lower()
    if lowered not in allowed:
        raise RejectedFile(f"line {line}: {column} {shown(value)} is not one of {', '.join(allowed)}")
    return lowered


def _record(line: int, row: dict[str, str], states_agent: bool) -> ResourceRecord:
    for column in REQUIRED:
        if not row.get(column):
            raise RejectedFile(f"line {line}: {column} is empty")
    kind = _choice(line, "kind", row["kind"], ResourceKind)
    os_name = _choice(line, "os", row.get("os", ""), OperatingSystem)
    if kind in MACHINE_KINDS and not os_name:
        raise RejectedFile(f"line {line}: os is required for a {kind} (linux or windows)")
    parent_id = row.get("parent_id", "")
    if kind == ResourceKind.VMSS_INSTANCE and not parent_id:
        raise RejectedFile(f"line {line}: parent_id is required for a vmss_instance")
    if parent_id and kind != ResourceKind.VMSS_INSTANCE:
        raise RejectedFile(f"line {line}: parent_id is only for a vmss_instance, not a {kind}")
    record = ResourceRecord(
        line=line,
        resource_id=row["resource_id"],
        name=row["name"],
        kind=kind,
        os=os_name,
        subscription=row["subscription"],
        resource_group=row.get("resource_group", ""),
        parent_id=parent_id,
        tags=_tags(line, row.get("tags", "")),
        power_state=_choice(line, "power_state", row.get("power_state", ""), PowerState, "running"),
        agent_state=(
            _choice(line, "agent", row.get("agent", ""), AgentState, "not_installed")
            if states_agent
            else None
        ),
        agent_version=row.get("agent_version", ""),
        workspace_id=row.get("workspace_id", ""),
        last_heartbeat=_timestamp(line, row.get("last_heartbeat", "")),
    )
    check_lengths(record, f"line {line}")
    return record


def _tags(line: int, value: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        key, sep, tag_value = item.partition("=")
        if not sep or not key.strip():
            raise RejectedFile(f"line {line}: tag {shown(item)} is not key=value")
        tags[key.strip()] = tag_value.strip()
    return tags


def _timestamp(line: int, value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RejectedFile(f"line {line}: last_heartbeat {shown(value)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RejectedFile(f"line {line}: last_heartbeat {shown(value)} has no UTC offset (add Z or +hh:mm)")
    return moment
