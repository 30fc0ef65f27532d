"""Property: no exported cell is a formula. Generated text (formula triggers first, full-width and other
lookalikes, leading whitespace, control characters) goes into every field an export writes: resource,
subscription and resource group names (inventory), host names and rule titles (XCCDF), titles and
expected / actual values (SecurityBaseline), owners (a resource tag) and team names. The findings
are exported as CSV and XLSX by the service and over HTTP, the dashboard's charts as CSV; each cell,
parsed back, must follow governance.exports.neutralise_cell's contract: a text starting with = + - @
tab or CR is shown with a quote first and otherwise unchanged, any other text unchanged; and no XLSX
cell is a formula.
"""

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
import time_machine
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from governance.exports import Export, csv_chunks, write_xlsx
from governance.findings import findings_for
from governance.models import Assignment, GovernanceRule, Team
from governance.roles import Role
from intake.pipeline import ingest_stream
from recommendations.models import Finding, Rule
from tests.factories import make_user
from tests.properties.examples import CI_IMPORTS, LONG, forgetting
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# The triggers as the contract states them (governance/exports.py), written out here.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Full-width = + - @, small and superscript =, then invisible or blank characters before a trigger.
LOOKALIKES = (
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
    "\ufe66",
    "\u207c",
    "\u200b=",
    " =",
    "  +",
    "\n=",
    "'=",
    '"=',
)
PAYLOADS = ('HYPERLINK("http://x","y")', "1+1", "SUM(A1:A9)", "cmd|' /C calc'!A0", "")

# Text of a cell: a trigger or lookalike then a payload, or any text at all. NUL is left out: no
# database text column holds it (PostgreSQL refuses it), so it never reaches an export.
anything = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=15)
cells = st.one_of(
    st.builds(
        lambda a, b: a + b, st.sampled_from(TRIGGERS + LOOKALIKES), st.sampled_from(PAYLOADS) | anything
    ),
    anything,
)
# What survives XML 1.0 (XCCDF files): no control characters but tab, LF and CR.
xml_cells = cells.map(lambda s: "".join(c for c in s if (" " <= c < "\ufffe") or c in "\t\n\r"))
SUBSCRIPTIONS = st.sampled_from(["=cmd|' /C calc'!A0", "Datacenter", "\uff1dSUM(1)", "@Lab"])


def shown(raw: str) -> str:
    """What the contract says a text cell shows."""
    return "'" + raw if raw.startswith(TRIGGERS) else raw


def shown_in_xlsx(raw: str) -> str:
    """An XLSX cell also shows each control character XML cannot hold (all but tab, LF, CR) as U+FFFD."""
    return "".join("\ufffd" if c < " " and c not in "\t\n\r" else c for c in shown(raw))


def inventory(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["resource_id", "name", "kind", "os", "subscription", "resource_group", "tags"])
    writer.writerows(rows)
    return out.getvalue().encode()


def build(texts: dict[str, str], subscription: str) -> None:
    """An estate whose every exported text field holds generated text; the fields importers strip
    (leading tabs and CRs) are set on the rows afterwards, as an admin's edit would."""
    team = Team.objects.create(name=texts["team"] or "team")
    GovernanceRule.objects.create(name="all", priority=1, team=team, owner_tag="owner", timeframe_days=14)
    # Names must survive the importers' stripping to match the scans that name them.
    linux = texts["linux"].strip() or "lnx"
    windows = texts["windows"].strip() or "win"
    if linux.lower() == windows.lower():
        windows += "-2"
    owner = texts["owner"].replace(";", "")
    ingest_stream(
        io.BytesIO(
            inventory(
                [
                    [
                        "onprem:linux",
                        linux,
                        "arc_machine",
                        "linux",
                        subscription,
                        texts["group"],
                        f"owner={owner}",
                    ],
                    ["onprem:windows", windows, "arc_machine", "windows", "Windows " + subscription, "", ""],
                ]
            )
        ),
        file_format="inventory",
    )
    ingest_stream(
        io.BytesIO(
            xccdf_result(
                host=linux,
                results={"a": "fail", "b": "fail"},
                when=NOW,
                titles={"a": texts["xml_title"] or "a"},
                severities={"a": "high", "b": "low"},
                cces={"a": "CCE-1001-1"},
            )
        ),
        file_format="scap",
    )
    row = {
        "TimeGenerated": NOW.isoformat(),
        "Computer": windows,
        "OSName": "Windows Server 2022",
        "BaselineType": "WindowsOS",
        "BaselineRuleType": "Registry Key",
        "CceId": "CCE-2001-1",
        "Description": texts["title"],
        "RuleSeverity": "Critical",
        "RuleSetting": "Setting",
        "ExpectedResult": texts["expected"],
        "ActualResult": texts["actual"],
        "AnalyzeResult": "Failed",
    }
    ingest_stream(io.BytesIO(json.dumps([row]).encode()), file_format="securitybaseline")
    Rule.objects.filter(key__endswith="_b").update(title=texts["raw_title"])
    Finding.objects.filter(rule__key__endswith="_b").update(
        actual=texts["raw_actual"], expected=texts["raw_expected"]
    )


def expected_rows() -> list[list[str]]:
    """The text columns of each exported finding, from the database, in the export's order."""
    rows = []
    for f in (
        Finding.objects.filter(state="open")
        .select_related("resource__subscription", "rule")
        .order_by("resource_id", "rule_id")
    ):
        resource = f.resource
        rows.append(
            [
                resource.name,
                resource.resource_id,
                resource.subscription.name,
                resource.resource_group,
                f.rule.title,
                f.expected or f.rule.expected,
                f.actual,
                resource.subscription.external_id or "",
            ]
        )
    return rows


# ... and the native id of the machine's subscription, account or project (column "scope id").
TEXT_COLUMNS = [0, 1, 2, 3, 6, 9, 10, 19]
TEAM, OWNER = 14, 15


def check_rows(rows: list[list[Any]], shows: Callable[[str], str] = shown) -> None:
    """Every cell against the contract; the text columns against the stored text."""
    header, *body = rows
    assert len(header) == 21
    expected = expected_rows()
    assert len(body) == len(expected) == 3
    for cells, stored in zip(body, expected, strict=True):
        for value in cells:
            if isinstance(value, str):
                assert not value.startswith(TRIGGERS), (value, cells)
        assert [cells[i] if cells[i] is not None else "" for i in TEXT_COLUMNS] == [shows(s) for s in stored]
        team = cells[TEAM]
        assert team == shows(Team.objects.get().name), cells
        owners = {shows(owner) for owner in Assignment.objects.values_list("owner", flat=True)}
        assert cells[OWNER] in {*owners, "", None}, cells


def parse_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def parse_xlsx(content: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def check_exports(texts: dict[str, str], subscription: str) -> None:
    with time_machine.travel(NOW, tick=False), forgetting():
        build(texts, subscription)
        admin = make_user("prop-admin", role=Role.ADMIN)
        findings, used = findings_for(admin, {"severity": "all"})
        export = Export(actor=admin, filters=used, format="csv", base_url="http://testserver/")
        check_rows(parse_csv(b"".join(csv_chunks(export, findings, bom=True))))
        target = io.BytesIO()
        write_xlsx(Export(actor=admin, filters=used, format="xlsx", base_url="http://x/"), findings, target)
        check_rows(parse_xlsx(target.getvalue()), shown_in_xlsx)

        client = Client()
        client.force_login(admin)
        response = client.get("/api/v1/findings/export.csv?severity=all")
        assert response.status_code == 200
        check_rows(parse_csv(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
        response = client.get("/api/v1/findings/export.xlsx?severity=all")
        assert response.status_code == 200
        check_rows(parse_xlsx(b"".join(response.streaming_content)), shown_in_xlsx)  # type: ignore[attr-defined]

        for chart in ("score-trend", "failed-rules", "top-recommendations"):
            response = client.get(f"/charts/{chart}.csv")
            assert response.status_code == 200, chart
            rows = parse_csv(response.content)
            assert rows, chart
            for value in (value for row in rows for value in row):
                assert not value.startswith(TRIGGERS), (chart, value)


FIELDS = (
    "team",
    "windows",
    "owner",
    "group",
    "title",
    "expected",
    "actual",
    "raw_title",
    "raw_actual",
    "raw_expected",
)
texts = st.fixed_dictionaries(dict.fromkeys(FIELDS, cells) | {"xml_title": xml_cells, "linux": xml_cells})
PLAIN = dict.fromkeys(FIELDS, "x") | {"xml_title": "x", "linux": "x"}


@given(texts=texts, subscription=SUBSCRIPTIONS)
# Found by this property: a control character in a stored text (here a SecurityBaseline actual value)
# made openpyxl refuse the cell, and every XLSX export holding it failed (a 500 over HTTP).
@example(texts=PLAIN | {"actual": "on\x1b[0m", "raw_title": "\x0b=1+1"}, subscription="Datacenter")
@example(
    texts=PLAIN | {"raw_title": "\t=1", "raw_actual": "\r@SUM(A1)", "team": "-Ops", "owner": "=x"},
    subscription="@Lab",
)
@CI_IMPORTS
def test_exported_cells_are_never_formulas(texts: dict[str, str], subscription: str) -> None:
    check_exports(texts, subscription)


@pytest.mark.long
@given(texts=texts, subscription=SUBSCRIPTIONS)
@LONG
def test_exported_cells_are_never_formulas_long(texts: dict[str, str], subscription: str) -> None:
    check_exports(texts, subscription)
