"""Findings exports: a streaming CSV (constant memory, no row cap) and an XLSX of the same rows, each
recorded in the audit log with its filters and row count.

Every text cell that a spreadsheet would read as a formula (starting with =, +, -, @, a tab or a
carriage return) is neutralised by `neutralise_cell`, the one place that knows how.
"""

import csv
import io
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import connections
from django.db.models import CharField, FilteredRelation, Func, QuerySet
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from audit import trail
from governance.findings import NO_GOVERNANCE, machine_governance
from governance.models import Team
from governance.scoping import Reader, item_condition
from posture.choices import machine_cloud
from posture.errors import UserError
from posture.models import Resource
from recommendations.models import Finding, Rule

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff".encode()
CHUNK_ROWS = 5000
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
    "cloud",
    "scope id",
    "link",
)
# What is read per finding: its own columns and its own item's (a join, at most one per finding, and
# only an item the reader may see). Its machine's and its rule's cells come from dicts read once (they
# repeat on every row of the machine or the rule, so they are neutralised once too), as does its
# machine's item (machine_governance).
FIELDS = ("resource_id", "rule_id", "expected", "actual", "state")
ITEM_FIELDS = ("team_id", "owner", "due_date", "status")
TIMES = ("first_seen", "last_seen")
TIMES_AS_TEXT = ("first_seen_text", "last_seen_text")
# Grouped by machine (the unique index on resource, rule).
ORDER = ("resource_id", "rule_id")


class UtcText(Func):
    """A time as ISO 8601 text in UTC (2026-11-30T09:00:00Z), written by the database: turning a
    million timestamps into Python datetimes costs more than the rest of a CSV row."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Stored as UTC text; '%%%%' survives the template and the parameters' formatting as one '%'.
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%SZ', %(expressions)s)"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return super().as_sql(compiler, connection, template=template, **extra)


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
    # What a row is, for the audit log: findings, or the baseline's rules (governance/checklists.py).
    subject: str = "findings"

    def count_row(self) -> None:
        self.rows += 1

    def record(self, *, complete: bool = True) -> None:
        trail.record(
            actor=self.actor,
            actor_name=self.actor_name,
            action=trail.EXPORT,
            summary=f"exported {self.rows} {self.subject} as {self.format.upper()}"
            + ("" if complete else " (interrupted)"),
            after={"format": self.format, "filters": self.filters, "rows": self.rows, "complete": complete},
            ip=self.ip,
        )


# A machine's cells, the start of its links, its OS-configuration item's team, owner, due, status, and
# its last cells (cloud, the native id of its subscription, account or project).
Machine = tuple[list[Any], str, tuple[Any, ...], list[Any]]


def _machines(findings: QuerySet[Finding], base: str, reader: Reader, *, as_text: bool) -> dict[int, Machine]:
    """Each machine of the findings: its neutralised cells, the start of its link and the governance
    its findings fall back to (its own OS-configuration item, else its scale set's, if the reader sees
    it)."""
    items = {
        pk: (
            neutralise_cell(team),
            neutralise_cell(owner),
            due.isoformat() if as_text and due else due,
            status,
        )
        for pk, (team, owner, due, status) in machine_governance(findings, reader).items()
    }
    fields = (
        "pk",
        "parent_id",
        "kind",
        "subscription__cloud",
        "subscription__external_id",
        "name",
        "resource_id",
        "subscription__name",
        "resource_group",
    )
    rows = Resource.objects.filter(pk__in=findings.order_by().values("resource_id")).values_list(*fields)
    return {
        pk: (
            [neutralise_cell(cell) for cell in cells],
            f"{base}/resources/{pk}/?state=",
            items.get(pk) or items.get(parent) or NO_GOVERNANCE,
            [machine_cloud(cloud, kind), neutralise_cell(native_id or "")],
        )
        for pk, parent, kind, cloud, native_id, *cells in rows.iterator()
    }


def _rules(findings: QuerySet[Finding]) -> dict[int, tuple[list[Any], Any]]:
    """Each rule of the findings: OS, CCE ID, title, type and severity, and its expected value,
    neutralised."""
    fields = ("pk", "os", "cce", "title", "rule_type", "severity", "expected")
    rows = Rule.objects.filter(pk__in=findings.order_by().values("rule_id")).values_list(*fields)
    return {
        pk: ([neutralise_cell(cell) for cell in cells], neutralise_cell(expected))
        for pk, *cells, expected in rows.iterator()
    }


def _stream(rows: QuerySet[Any], chunk_size: int) -> Iterator[tuple[Any, ...]]:
    """The rows of a values_list queryset, `chunk_size` at a time in memory.

    On PostgreSQL one query streamed (psycopg's chunked rows mode): the database sends rows while
    Python writes the ones before, with no FETCH round trip, and psycopg builds them in C. A
    server-side cursor outside a transaction (a streamed response's case) is WITH HOLD, which makes
    PostgreSQL compute every row before the first FETCH: the export waited for the whole query, then
    wrote. Elsewhere Django's chunked iterator."""
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        yield from rows.iterator(chunk_size=chunk_size)
        return
    sql, params = rows.query.get_compiler(rows.db).as_sql()
    with connection.cursor() as cursor:
        yield from cursor.cursor.stream(sql, params, size=chunk_size)


def _own_items(findings: QuerySet[Finding], reader: Reader) -> tuple[QuerySet[Finding], tuple[str, ...]]:
    """The findings and the fields of ITEM_FIELDS read through the join to each one's own item: every
    item for a reader who sees all of them, else only those the reader may see (another tower's item
    of a failed rule on a shared machine is not joined, as if the rule had none)."""
    condition = item_condition(reader, "assignments__")
    relation = "assignments"
    if condition is not None:
        relation = "seen_item"
        findings = findings.annotate(seen_item=FilteredRelation("assignments", condition=condition))
    return findings, tuple(f"{relation}__{field}" for field in ITEM_FIELDS)


def finding_rows(
    findings: QuerySet[Finding],
    base_url: str,
    reader: Reader,
    *,
    as_text: bool = False,
    chunk_size: int = CHUNK_ROWS,
) -> Generator[list[Any], None, None]:
    """Each finding's cells in COLUMNS order, text neutralised, with the governance of the items the
    reader may see, read `chunk_size` rows at a time: memory holds those and the selection's machines,
    rules and machine items (bounded by the estate), never the rows. as_text: times and dates as ISO
    8601 text, as the CSV writes them."""
    machines = _machines(findings, base_url.rstrip("/"), reader, as_text=as_text)
    rules = _rules(findings)
    times = TIMES
    if as_text:
        findings = findings.annotate(**{t: UtcText(f) for t, f in zip(TIMES_AS_TEXT, TIMES, strict=True)})
        times = TIMES_AS_TEXT
    # Team names by id, read once (a join to them made the filtered join to the items fail on SQLite).
    teams = {pk: neutralise_cell(name) for pk, name in Team.objects.values_list("pk", "name")}
    findings, item_fields = _own_items(findings, reader)
    rows = _stream(findings.order_by(*ORDER).values_list(*FIELDS, *item_fields, *times), chunk_size)
    for resource_pk, rule_pk, expected, actual, state, team, owner, due, status, first, last in rows:
        machine, link, governance, tail = machines[resource_pk]
        rule, rule_expected = rules[rule_pk]
        if status is not None:
            # Its own item's governance, else its machine's.
            governance = (teams.get(team), neutralise_cell(owner), due, status)
        yield [
            *machine,
            *rule,
            # The finding's expected value, else the rule's (as the pages show it).
            neutralise_cell(expected) if expected else rule_expected,
            neutralise_cell(actual),
            state,
            first,
            last,
            *governance,
            *tail,
            link + state,
        ]


def csv_stream(
    header: Sequence[str], rows: Iterable[Sequence[Any]], on_row: Callable[[], None]
) -> Iterator[bytes]:
    """A CSV (RFC 4180, UTF-8) in chunks of about CHUNK_BYTES, the header first; on_row counts each row
    as it is written (an interrupted download's audit entry says how far it went)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    # A row at a time, each freed once written: rows gathered in batches lived through the cycle
    # collector's passes into its oldest generation, whose passes then walked every object of the
    # process (1.2 s of CPU for 1,000,000 rows); the csv module writes None as an empty cell.
    for row in rows:
        writer.writerow(row)
        on_row()
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_chunks(
    export: Export, findings: QuerySet[Finding], *, bom: bool = False
) -> Generator[bytes, None, None]:
    """The findings' CSV in chunks; the export is recorded when it ends (or stops)."""
    complete = False
    rows = finding_rows(findings, export.base_url, export.actor, as_text=True, chunk_size=CHUNK_ROWS)
    try:
        if bom:
            yield BOM
        yield from csv_stream(COLUMNS, rows, export.count_row)
        complete = True
    finally:
        # Ends the rows' query first (a download stopped half way): its connection records the export.
        rows.close()
        export.record(complete=complete)


def xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        # XML cannot hold most control characters (a scan's value may carry them): openpyxl refuses
        # the cell and the whole export failed. Each is shown as U+FFFD, the rest of the text as it is.
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
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
    for row in finding_rows(findings, export.base_url, export.actor):
        sheet.append([xlsx_cell(v) for v in row])
        export.rows += 1
    workbook.save(target)
    export.record()


def xlsx_file(export: Export, findings: QuerySet[Finding]) -> IO[bytes]:
    """The XLSX in a temporary file, rewound, for a response to send."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    write_xlsx(export, findings, target)
    target.seek(0)
    return target
