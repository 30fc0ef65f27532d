"""Defender for Cloud's assessment exports, every shape, told apart by their content.

- JSON: Resource Graph, the REST API's list response (pages too) and `az security assessment list`
  (posture/importers/arg.py), or rows of the `SecurityRecommendation` table (continuous export to Log
  Analytics: a list of rows, or the query API's `{"tables": [{"columns", "rows"}]}`);
- CSV: the recommendations page's "Download CSV report" (`exportedTimestamp, subscriptionId,
  subscriptionName, ..., recommendationId, recommendationDisplayName, ..., state, notApplicableReason,
  ...`, UTF-8 with a byte order mark), or the `SecurityRecommendation` table exported from Log
  Analytics (`TimeGenerated [UTC], RecommendationName, RecommendationDisplayName, RecommendationState,
  AssessedResourceId, ...`).
The continuous export writes a row each time an assessment changes (and snapshots): the latest row of
each resource x recommendation stands, by TimeGenerated.
"""

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from posture.errors import RejectedFile, shown
from posture.importers.arg import STATUS_CODES, assessments_of
from posture.importers.azure_ids import parse_resource_id
from posture.importers.json_input import parse_json
from posture.importers.limits import check_lengths
from posture.importers.records import AssessmentRecord
from posture.importers.securitybaseline import export_time

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
PORTAL_COLUMNS = ("recommendationid", "resourceid", "state")
TABLE_COLUMNS = ("recommendationstate", "assessedresourceid")


def read_defender(stream: IO[bytes]) -> Iterator[AssessmentRecord]:
    """The assessments of any Defender export shape; the shape is read from the content."""
    raw = stream.read()
    text = raw.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise RejectedFile("the file is empty")
    # Not a JSON list or object, and no comma on the first line: no CSV either, so read as JSON, which
    # names what is wrong (a scalar, or not JSON at all).
    if text[:1] in (b"[", b"{") or b"," not in text.split(b"\n", 1)[0]:
        document = parse_json(raw)
        table = _table_rows(document)
        if table is None:
            yield from assessments_of(document)
        else:
            yield from _latest(_table_record(number, row) for number, row in table)
        return
    header, rows = _csv_rows(raw)
    if all(column in header for column in PORTAL_COLUMNS):
        for number, row in rows:
            yield _portal_record(number, row)
    elif all(column in header for column in TABLE_COLUMNS):
        yield from _latest(_table_record(number, row) for number, row in rows)
    else:
        raise RejectedFile(
            "not a Defender export: a CSV needs the portal report's columns (recommendationId, "
            "resourceId, state) or the SecurityRecommendation table's (RecommendationState, "
            "AssessedResourceId)"
        )


def _column(name: str) -> str:
    """`TimeGenerated [UTC]` -> timegenerated."""
    return re.sub(r"\s*\[.*?\]\s*$", "", name).strip().lower()


def _csv_rows(raw: bytes) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RejectedFile(f"the file is not UTF-8 text (byte {error.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [_column(cell) for cell in next(reader)]
    except (StopIteration, csv.Error):
        raise RejectedFile("the CSV has no header line") from None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        while True:
            start = reader.line_num + 1  # a quoted cell may span lines: the row's first is named
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise RejectedFile(f"line {start}: not valid CSV ({error})") from None
            if any(cell.strip() for cell in row):
                yield start, {k: v.strip() for k, v in zip(header, row, strict=False)}

    return header, rows()


def _table_rows(document: Any) -> list[tuple[int, dict[str, str]]] | None:
    """SecurityRecommendation rows as plain text values, or None when the document is not that table."""
    if isinstance(document, dict) and isinstance(document.get("tables"), list):
        tables = document["tables"]
        table = tables[0] if tables and isinstance(tables[0], dict) else {}
        columns = [_column(str(c.get("name", ""))) for c in table.get("columns", []) if isinstance(c, dict)]
        if not all(column in columns for column in TABLE_COLUMNS):
            return None
        found = [
            dict(zip(columns, row, strict=False)) for row in table.get("rows", []) if isinstance(row, list)
        ]
    elif isinstance(document, list) and document and isinstance(document[0], dict):
        if not all(column in {_column(str(k)) for k in document[0]} for column in TABLE_COLUMNS):
            return None
        found = [
            {_column(str(k)): v for k, v in row.items()} if isinstance(row, dict) else row for row in document
        ]
    else:
        return None
    rows = []
    for number, row in enumerate(found, start=1):
        if not isinstance(row, dict):
            raise RejectedFile(f"row {number}: expected an object")
        rows.append((number, {k: "" if v is None else str(v).strip() for k, v in row.items()}))
    return rows


def _status(where: str, column: str, value: str) -> str:
    status = STATUS_CODES.get(value.lower().replace(" ", ""))
    if status is None:
        raise RejectedFile(
            f"{where}: {column} {shown(value)} is not one of Healthy, Unhealthy, NotApplicable"
        )
    return status


def _moment(where: str, column: str, value: str) -> datetime | None:
    return export_time(where, column, value) if value else None


def _record(where: str, position: int, **values: Any) -> AssessmentRecord:
    resource_id = values["resource_id"]
    if not resource_id:
        raise RejectedFile(f"{where}: the resource id is empty")
    if not values["assessment_key"] and not values["display_name"]:
        raise RejectedFile(f"{where}: neither the recommendation's id nor its name is set")
    parsed = parse_resource_id(resource_id)
    values["subscription_id"] = values.get("subscription_id") or parsed.subscription_id
    if not values["subscription_id"]:
        raise RejectedFile(f"{where}: no subscription id, and the resource id names none")
    values["resource_group"] = values.get("resource_group") or parsed.resource_group
    record = AssessmentRecord(position=position, **values)
    check_lengths(record, where)
    return record


def _portal_record(line: int, row: dict[str, str]) -> AssessmentRecord:
    where = f"line {line}"
    reason = row.get("notapplicablereason", "")
    return _record(
        where,
        line,
        assessment_key=row.get("recommendationid", "").lower(),
        display_name=row.get("recommendationdisplayname") or row.get("recommendationname", ""),
        resource_id=row.get("resourceid", ""),
        subscription_id=row.get("subscriptionid", ""),
        subscription_name=row.get("subscriptionname", ""),
        resource_group=row.get("resourcegroup", ""),
        status=_status(where, "state", row.get("state", "")),
        cause=reason,
        reason=reason,
        first_evaluated=_moment(where, "firstEvaluationDate", row.get("firstevaluationdate", "")),
        status_changed=_moment(where, "statusChangeDate", row.get("statuschangedate", "")),
    )


def _table_record(number: int, row: dict[str, str]) -> tuple[datetime | None, AssessmentRecord]:
    where = f"row {number}"
    name = row.get("recommendationname", "")
    # RecommendationName holds the assessment key; RecommendationId the assessment's own resource id.
    key = name if GUID.match(name) else row.get("recommendationid", "").rpartition("/assessments/")[2]
    reason = row.get("notapplicablereason", "")
    record = _record(
        where,
        number,
        assessment_key=key.lower() if GUID.match(key) else "",
        display_name=row.get("recommendationdisplayname", ""),
        resource_id=row.get("assessedresourceid", ""),
        status=_status(where, "RecommendationState", row.get("recommendationstate", "")),
        cause=reason,
        reason=reason,
        first_evaluated=_moment(where, "FirstEvaluationDate", row.get("firstevaluationdate", "")),
        status_changed=_moment(where, "StatusChangeDate", row.get("statuschangedate", "")),
    )
    return _moment(where, "TimeGenerated", row.get("timegenerated", "")), record


def _latest(rows: Iterator[tuple[datetime | None, AssessmentRecord]]) -> Iterator[AssessmentRecord]:
    """Each resource x recommendation's latest row (the last in the file among equal times)."""
    latest: dict[tuple[str, str], tuple[datetime, AssessmentRecord]] = {}
    oldest = datetime.min.replace(tzinfo=UTC)
    for moment, record in rows:
        key = (record.resource_id.lower(), record.assessment_key or record.display_name.lower())
        current = latest.get(key)
        if current is None or (moment or oldest) >= current[0]:
            latest[key] = (moment or oldest, record)
    yield from sorted((record for _, record in latest.values()), key=lambda record: record.position)
