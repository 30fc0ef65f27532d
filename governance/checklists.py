"""The baseline as a GPO administrator's checklist: the filtered rules as CSV (streamed) or XLSX.

Rule facts only (ID, name, where to set it in Group Policy, the value, the key path, the expected
value, severity...), no machine data, so every role exports the same list. Cells go through the
findings exports' neutralising (an expected value such as "= 0" would otherwise run as a formula), and
each export is recorded in the audit log like theirs.
"""

import tempfile
from collections.abc import Generator, Iterator
from typing import IO, Any

from django.conf import settings
from django.db.models import QuerySet
from openpyxl import Workbook

from governance.exports import Export, ExportTooLarge, csv_stream, neutralise_cell, xlsx_cell
from recommendations.models import Rule

COLUMNS = (
    "ID",
    "name",
    "section",
    "Group Policy path",
    "Group Policy value",
    "key path",
    "expected value",
    "severity",
    "value type",
    "OS versions",
    "server types",
    "OS",
)
SUBJECT = "baseline rules"


def checklist_rows(rules: QuerySet[Rule]) -> Iterator[list[Any]]:
    for rule in rules.iterator(chunk_size=2000):
        cells = (
            rule.key,
            rule.title,
            rule.section,
            rule.group_policy_path,
            rule.group_policy_value,
            rule.key_path,
            rule.expected,
            rule.get_severity_display(),
            rule.value_type,
            " ".join(rule.os_version_list),
            "; ".join(rule.server_type_list),
            rule.get_os_display(),
        )
        yield [neutralise_cell(cell) for cell in cells]


def checklist_csv_chunks(export: Export, rules: QuerySet[Rule]) -> Generator[bytes, None, None]:
    """The CSV (RFC 4180, UTF-8) in chunks; the export is recorded when it ends (or stops)."""
    complete = False
    try:
        yield from csv_stream(COLUMNS, checklist_rows(rules), export.count_row)
        complete = True
    finally:
        export.record(complete=complete)


def checklist_xlsx(export: Export, rules: QuerySet[Rule]) -> IO[bytes]:
    """The XLSX in a rewound temporary file (write-only mode: rows are not kept in memory)."""
    limit = int(settings.POSTURE_XLSX_MAX_ROWS)
    if rules.order_by().values("pk")[: limit + 1].count() > limit:
        raise ExportTooLarge(
            f"more than {limit} rules selected: an XLSX export holds at most {limit} rows. "
            "Export them as CSV (no limit), or narrow the filters."
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Baseline")
    sheet.append(list(COLUMNS))
    for row in checklist_rows(rules):
        sheet.append([xlsx_cell(cell) for cell in row])
        export.rows += 1
    target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    workbook.save(target)
    target.seek(0)
    export.record()
    return target
