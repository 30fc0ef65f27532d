"""Findings exports: a streaming CSV (constant memory, no row cap) and an XLSX of the same rows, each
recorded in the audit log with its filters and row count.

Every text cell that a spreadsheet would read as a formula (starting with =, +, -, @, a tab or a
carriage return) is neutralised by `neutralise_cell`, the one place that knows how.
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from openpyxl import Workbook

from governance import audit
from governance.findings import governance_of
from posture.errors import UserError
from recommendations.models import Finding

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff".encode()
CHUNK_ROWS = 2000
# Bytes gathered before a CSV chunk is sent: fewer, larger writes to the socket.
CHUNK_BYTES = 64 * 1024

COLUMNS = (
    "resource name",
    "resource id",
    "subscription",
    "resource group",
    "OS",
    "CCE ID",
    "rule title",
    "rule type",
    "severity",
    "expected value",
    "actual value",
    "state",
    "first seen",
    "last seen",
    "team",
    "owner",
    "due date",
    "status",
    "link",
)
# What is read from the database per finding; the governance columns are looked up per chunk.
FIELDS = (
    "pk",
    "resource_id",
    "resource__parent_id",
    "resource__name",
    "resource__resource_id",
    "resource__subscription__name",
    "resource__resource_group",
    "rule__os",
    "rule__cce",
    "rule__title",
    "rule__rule_type",
    "rule__severity",
    "expected",
    "actual",
    "rule__expected",
    "state",
    "first_seen",
    "last_seen",
)
# Grouped by machine (the unique index on resource, rule), so a chunk concerns few machines.
ORDER = ("resource_id", "rule_id")


class ExportTooLarge(UserError):
    pass


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate (=, +, -, @, tab, CR first) prefixed with a quote, so
    it is shown as text; other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class Export:
    """One export being written: who asked, what they selected, the rows counted so far."""

    actor: User | AnonymousUser | None
    filters: dict[str, str]
    format: str
    base_url: str
    ip: str | None = None
    actor_name: str = ""
    rows: int = 0

    def record(self, *, complete: bool = True) -> None:
        audit.record(
            actor=self.actor,
            actor_name=self.actor_name,
            action=audit.EXPORT,
            summary=f"exported {self.rows} findings as {self.format.upper()}"
            + ("" if complete else " (interrupted)"),
            after={"format": self.format, "filters": self.filters, "rows": self.rows, "complete": complete},
            ip=self.ip,
        )


def finding_rows(
    findings: QuerySet[Finding], base_url: str, chunk_size: int = CHUNK_ROWS
) -> Iterator[list[Any]]:
    """Each finding's cells in COLUMNS order (text neutralised), read `chunk_size` rows at a time."""
    base = base_url.rstrip("/")
    rows = findings.order_by(*ORDER).values_list(*FIELDS).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        governance = governance_of([(row[0], row[1], row[2]) for row in chunk])
        for pk, resource_pk, _parent, *cells, rule_expected, state, first_seen, last_seen in chunk:
            team, owner, due, status = governance[pk]
            # The finding's expected value, else the rule's (as the pages show it).
            cells[-2] = cells[-2] or rule_expected
            link = f"{base}/resources/{resource_pk}/?state={state}"
            values = (*cells, state, first_seen, last_seen, team, owner, due, status, link)
            yield [neutralise_cell(v) for v in values]


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def csv_chunks(export: Export, findings: QuerySet[Finding], *, bom: bool = False) -> Iterator[bytes]:
    """The CSV (RFC 4180, UTF-8) in chunks of about CHUNK_BYTES; the export is recorded when it ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    complete = False
    try:
        if bom:
            yield BOM
        for row in finding_rows(findings, export.base_url):
            writer.writerow([_text(v) for v in row])
            export.rows += 1
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
        complete = True
    finally:
        export.record(complete=complete)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Spreadsheets have no time zones: times are written in UTC.
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def check_xlsx_size(findings: QuerySet[Finding]) -> None:
    limit = int(settings.POSTURE_XLSX_MAX_ROWS)
    if findings.order_by().values("pk")[: limit + 1].count() > limit:
        raise ExportTooLarge(
            f"more than {limit} findings selected: an XLSX export holds at most {limit} rows. "
            "Export them as CSV (no limit), or narrow the filters."
        )


def write_xlsx(export: Export, findings: QuerySet[Finding], target: IO[bytes]) -> None:
    """The XLSX of the findings into `target` (write-only mode: rows are not kept in memory)."""
    check_xlsx_size(findings)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Findings")
    sheet.append(list(COLUMNS))
    for row in finding_rows(findings, export.base_url):
        sheet.append([_cell(v) for v in row])
        export.rows += 1
    workbook.save(target)
    export.record()


def xlsx_file(export: Export, findings: QuerySet[Finding]) -> IO[bytes]:
    """The XLSX in a temporary file, rewound, for a response to send."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    write_xlsx(export, findings, target)
    target.seek(0)
    return target
