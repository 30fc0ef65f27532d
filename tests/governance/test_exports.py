"""Findings exports (CSV, XLSX): the selection and its filters, formula neutralisation of every cell,
tower scoping, the audit event, the command and the XLSX row cap. Scans are real documents ingested
as uploads are (tests/scans.py), carrying formula-like titles, actual values and host names."""

import csv
import io
from contextlib import closing
from datetime import UTC, date, datetime
from html import unescape
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import QuerySet
from django.test import Client
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from audit.models import AuditEvent
from audit.trail import EXPORT
from governance import exports
from governance.findings import findings_for
from governance.models import Assignment, AssignmentStatus, GovernanceRule, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from intake.pipeline import ingest_stream
from posture.models import Resource
from recommendations.models import Finding, Rule
from tests.factories import make_user
from tests.scans import baseline_row, scan_baseline, scan_xccdf

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Host names are resource names: the inventory lists them, so scans match them.
EVIL_HOST = '=HYPERLINK("http://x","y")'
INVENTORY = f"""resource_id,name,kind,os,subscription,resource_group,tags
onprem:lnx-01,lnx-01,arc_machine,linux,Datacenter,rg-linux,env=prod
"onprem:evil","{EVIL_HOST.replace('"', '""')}",arc_machine,linux,Lab,rg-lab,env=lab
onprem:win-01,win-01,arc_machine,windows,Datacenter,rg-windows,env=prod
""".encode()
NOEXEC = "tmp_noexec"
PASSWORD = "export-password-1"
DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturned"]


@pytest.fixture
def estate() -> None:
    with time_machine.travel(MONDAY, tick=False):
        linux = Team.objects.create(name="Linux")
        windows = Team.objects.create(name="Windows")
        GovernanceRule.objects.create(name="Linux", priority=10, os="linux", team=linux, timeframe_days=14)
        GovernanceRule.objects.create(
            name="Windows", priority=20, os="windows", team=windows, owner_tag="", timeframe_days=30
        )
        ingest_stream(io.BytesIO(INVENTORY), file_format="inventory")
        # lnx-01: two high rules with formula-like titles failing, a medium one failing, one passing.
        scan_xccdf(
            "lnx-01",
            {"sshd_root": "fail", "audit_on": "fail", "tmp_noexec": "fail", "ok_rule": "pass"},
            when=MONDAY,
            severities={"sshd_root": "high", "audit_on": "high", "tmp_noexec": "medium"},
            titles={"sshd_root": DANGEROUS[0], "audit_on": DANGEROUS[1]},
            cces={"sshd_root": "CCE-1001-1", "audit_on": "CCE-1002-2"},
        )
        # The formula-named host (a Lab machine of the Linux tower).
        scan_xccdf(
            EVIL_HOST,
            {"sshd_root": "fail", "tmp_noexec": "fail"},
            when=MONDAY,
            severities={"sshd_root": "high", "tmp_noexec": "medium"},
            titles={"sshd_root": DANGEROUS[0]},
            cces={"sshd_root": "CCE-1001-1"},
        )
        # win-01: critical baseline rules whose titles and actual values are formulas, collected on
        # Monday too (their items are due 30 days after the scan).
        collected = MONDAY.isoformat()
        scan_baseline(
            [
                baseline_row(
                    "win-01",
                    "CCE-2001-1",
                    "Failed",
                    Description=DANGEROUS[2],
                    ActualResult=DANGEROUS[3],
                    TimeGenerated=collected,
                ),
                baseline_row(
                    "win-01",
                    "CCE-2002-2",
                    "Failed",
                    Description=DANGEROUS[4],
                    ActualResult=DANGEROUS[5],
                    TimeGenerated=collected,
                ),
                baseline_row(
                    "win-01",
                    "CCE-2003-3",
                    "Failed",
                    RuleSeverity="Warning",
                    ActualResult="-5",
                    TimeGenerated=collected,
                ),
            ]
        )
    # Every importer strips leading whitespace, so a leading tab or CR can only come from a row edited
    # in the database (the admin, a future importer): put them there.
    Rule.objects.filter(key="CCE-2002-2").update(title=DANGEROUS[4])
    Finding.objects.filter(rule__key="CCE-2002-2").update(actual=DANGEROUS[5])


def names(findings: QuerySet[Finding]) -> set[tuple[str, str]]:
    prefix = "xccdf_org.example.content_rule_"
    return {
        (f.resource.name, f.rule.key.removeprefix(prefix))
        for f in findings.select_related("resource", "rule")
    }


def test_default_selection_is_the_critical_findings_open_critical_or_high(estate: None) -> None:
    admin = make_user("admin", role=Role.ADMIN)
    findings, used = findings_for(admin, {})
    assert used == {"state": "open", "severity": "critical,high"}
    assert names(findings) == {
        ("win-01", "CCE-2001-1"),
        ("win-01", "CCE-2002-2"),
        ("lnx-01", "CCE-1001-1"),
        ("lnx-01", "CCE-1002-2"),
        (EVIL_HOST, "CCE-1001-1"),
    }


def test_critical_findings_are_the_same_in_every_scope_and_for_every_reader(estate: None) -> None:
    """The one click means one thing: a tower whose machines have no Critical rule still gets its high
    findings (not its highest severity, which would change with the scope), and the command line, the
    API and the page links share the default."""
    linux = Team.objects.get(name="Linux")
    lead = make_user("lin-lead", role=Role.LEAD, team=linux)
    findings, used = findings_for(lead, {})
    assert used["severity"] == "critical,high"
    assert names(findings) == {("lnx-01", "CCE-1001-1"), ("lnx-01", "CCE-1002-2"), (EVIL_HOST, "CCE-1001-1")}
    client = Client()
    client.force_login(lead)
    rows = export_csv(client)
    assert sorted((row[0], row[5]) for row in rows[1:]) == sorted(
        ("'" + name if name.startswith("=") else name, rule) for name, rule in names(findings)
    )
    out = io.StringIO()
    call_command("export_findings", stdout=out)
    command_rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(command_rows) == 1 + 5


def test_governance_columns_come_from_the_machines_item(estate: None) -> None:
    admin = make_user("admin", role=Role.ADMIN)
    findings, _ = findings_for(admin, {"severity": "all"})
    rows = {(f.resource.name, f.rule.key): f for f in findings.select_related("resource", "rule")}
    assert len(rows) == 8
    linux = rows[("lnx-01", "CCE-1001-1")]
    assert (linux.team, linux.status, linux.due_date) == ("Linux", "open", date(2026, 12, 14))  # type: ignore[attr-defined]
    assert rows[("win-01", "CCE-2001-1")].team == "Windows"  # type: ignore[attr-defined]


def export_csv(client: Client, query: str = "") -> list[list[str]]:
    response = client.get(f"/api/v1/findings/export.csv{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert body.endswith("\r\n")
    return list(csv.reader(io.StringIO(body, newline="")))


def logged_in(username: str = "analyst", role: Role = Role.ANALYST, team: Team | None = None) -> Client:
    client = Client()
    client.force_login(make_user(username, role=role, team=team))
    return client


def test_every_formula_cell_is_neutralised_in_the_csv(estate: None) -> None:
    rows = export_csv(logged_in(), "?severity=all")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["resource name", "resource id", "subscription"]
    assert len(body) == 8
    cells = [cell for row in body for cell in row]
    for dangerous in DANGEROUS:
        assert "'" + dangerous in cells
        assert dangerous not in cells
    assert "'" + EVIL_HOST in cells
    assert "'-5" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_every_formula_cell_is_neutralised_in_the_xlsx(estate: None) -> None:
    response = logged_in().get("/api/v1/findings/export.xlsx?severity=all")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))  # type: ignore[attr-defined]
    rows = list(workbook.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(rows) == 9
    cells = [cell for row in rows[1:] for cell in row if isinstance(cell, str)]
    for dangerous in [*DANGEROUS, EVIL_HOST]:
        assert "'" + dangerous in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # Dates are dates to the spreadsheet (UTC, without a zone).
    first_seen = rows[1][rows[0].index("first seen")]
    assert first_seen == datetime(2026, 11, 30, 9, 0)


def test_csv_columns_governance_and_link(estate: None) -> None:
    rows = export_csv(logged_in(), "?severity=high&resource_group=rg-linux")
    header = rows[0]
    assert len(rows) == 3
    row = dict(zip(header, rows[1], strict=True))
    assert row["resource name"] == "lnx-01"
    assert row["resource id"] == "onprem:lnx-01"
    assert row["subscription"] == "Datacenter"
    assert (row["OS"], row["severity"], row["state"]) == ("linux", "high", "open")
    assert (row["team"], row["owner"], row["due date"], row["status"]) == ("Linux", "", "2026-12-14", "open")
    assert row["first seen"] == "2026-11-30T09:00:00Z"
    assert row["link"].startswith("http://testserver/resources/")
    assert row["link"].endswith("/?state=open")
    assert {r[header.index("CCE ID")] for r in rows[1:]} == {"CCE-1001-1", "CCE-1002-2"}


def test_default_export_is_the_critical_findings(estate: None) -> None:
    rows = export_csv(logged_in())
    assert {(r[0], r[rows[0].index("CCE ID")]) for r in rows[1:]} == {
        ("win-01", "CCE-2001-1"),
        ("win-01", "CCE-2002-2"),
        ("lnx-01", "CCE-1001-1"),
        ("lnx-01", "CCE-1002-2"),
        ("'" + EVIL_HOST, "CCE-1001-1"),
    }
    assert {r[rows[0].index("severity")] for r in rows[1:]} == {"critical", "high"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {"severity": "medium"},
            {("lnx-01", "tmp_noexec"), (EVIL_HOST, NOEXEC), ("win-01", "CCE-2003-3")},
        ),
        ({"severity": "high,medium", "os": "windows"}, {("win-01", "CCE-2003-3")}),
        (
            {"severity": "all", "os": "linux", "subscription": "Lab"},
            {(EVIL_HOST, "CCE-1001-1"), (EVIL_HOST, NOEXEC)},
        ),
        (
            {"severity": "all", "rule_type": "Registry"},
            {("win-01", f"CCE-200{i}-{i}") for i in (1, 2, 3)},
        ),
        ({"severity": "all", "rule": "CCE-1001-1"}, {("lnx-01", "CCE-1001-1"), (EVIL_HOST, "CCE-1001-1")}),
        ({"severity": "all", "recommendation": "vmss-config-vulns"}, set()),
        (
            {"severity": "all", "resource_group": "RG-LAB"},
            {(EVIL_HOST, "CCE-1001-1"), (EVIL_HOST, NOEXEC)},
        ),
        ({"severity": "all", "tag": "env=lab"}, {(EVIL_HOST, "CCE-1001-1"), (EVIL_HOST, NOEXEC)}),
        ({"severity": "all", "team": "Windows"}, {("win-01", f"CCE-200{i}-{i}") for i in (1, 2, 3)}),
        ({"severity": "critical", "owner": "nobody@example.com"}, set()),
        ({"severity": "critical", "due_before": "2026-12-29"}, set()),
        (
            {"severity": "critical", "due_after": "2026-12-29"},
            {("win-01", "CCE-2001-1"), ("win-01", "CCE-2002-2")},
        ),
        ({"severity": "all", "state": "passed"}, {("lnx-01", "ok_rule")}),
        ({"severity": "all", "first_seen_after": "2026-12-01T00:00:00Z"}, set()),
        (
            {"severity": "critical", "first_seen_before": "2026-12-01T00:00:00Z"},
            {("win-01", "CCE-2001-1"), ("win-01", "CCE-2002-2")},
        ),
    ],
)
def test_each_filter(estate: None, query: dict[str, str], expected: set[tuple[str, str]]) -> None:
    admin = make_user("admin", role=Role.ADMIN)
    findings, used = findings_for(admin, query)
    got = names(findings)
    assert got == expected
    assert {k: v for k, v in used.items() if k in query} == query


def test_overdue_and_recommendation_filters(estate: None) -> None:
    admin = make_user("admin", role=Role.ADMIN)
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=UTC), tick=False):
        overdue, _ = findings_for(admin, {"severity": "all", "overdue": "true"})
        assert len(names(overdue)) == 8
    on_time, _ = findings_for(admin, {"severity": "all", "overdue": "true"})
    assert not on_time.exists()
    machines, _ = findings_for(admin, {"severity": "all", "recommendation": "machine-config-vulns"})
    assert machines.count() == 8


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"severity": "urgent"}, "unknown severity 'urgent'"),
        ({"state": "gone"}, "state"),
        ({"due_before": "tomorrow"}, "due_before"),
        ({"tag": "=x"}, "key=value"),
        ({"overdue": "maybe"}, "overdue is true or false"),
        ({"subscription": "Nowhere"}, "no subscription named or with id 'Nowhere'"),
    ],
)
def test_bad_filters_are_refused_with_a_message(estate: None, query: dict[str, str], message: str) -> None:
    client = logged_in()
    response = client.get("/api/v1/findings/export.csv", query)
    assert response.status_code in (400, 404)
    assert message in response.json()["detail"]
    assert not AuditEvent.objects.filter(action=EXPORT).exists()
    with pytest.raises(Exception, match=message.replace("(", r"\(")):
        findings_for(make_user("admin2", role=Role.ADMIN), query)[0].exists()


def test_a_tower_lead_exports_only_the_towers_findings(estate: None) -> None:
    lead = logged_in("lin-lead", Role.LEAD, Team.objects.get(name="Linux"))
    rows = export_csv(lead, "?severity=all")
    assert {r[0] for r in rows[1:]} == {"lnx-01", "'" + EVIL_HOST}
    assert len(rows) == 6
    # Asking for another tower's findings gives none, not theirs.
    assert len(export_csv(lead, "?severity=all&team=Windows")) == 1
    member = logged_in("win-member", Role.MEMBER, Team.objects.get(name="Windows"))
    assert {r[0] for r in export_csv(member, "?severity=all")[1:]} == {"win-01"}
    nobody = logged_in("nobody", Role.LEAD, Team.objects.create(name="Empty"))
    assert len(export_csv(nobody, "?severity=all")) == 1


def test_every_role_may_export_and_an_anonymous_caller_may_not(estate: None) -> None:
    for role in (Role.ADMIN, Role.ANALYST, Role.VIEWER):
        assert logged_in(f"u-{role}", role).get("/api/v1/findings/export.csv").status_code == 200
    assert Client().get("/api/v1/findings/export.csv").status_code in (401, 403)
    assert logged_in("norole", None).get("/api/v1/findings/export.xlsx").status_code == 403  # type: ignore[arg-type]


def test_bom_option(estate: None) -> None:
    client = logged_in()
    with_bom = b"".join(client.get("/api/v1/findings/export.csv?bom=1").streaming_content)  # type: ignore[attr-defined]
    without = b"".join(client.get("/api/v1/findings/export.csv").streaming_content)  # type: ignore[attr-defined]
    assert with_bom.startswith(b"\xef\xbb\xbfresource name,")
    assert without.startswith(b"resource name,")
    assert with_bom[3:] == without


def test_each_export_is_audited_with_its_filters_and_row_count(estate: None) -> None:
    client = logged_in()
    export_csv(client, "?severity=high,medium&os=linux")
    client.get("/api/v1/findings/export.xlsx", {"severity": "critical"})
    csv_event, xlsx_event = AuditEvent.objects.filter(action=EXPORT).order_by("pk")
    assert csv_event.actor_name == "analyst"
    assert csv_event.after == {
        "format": "csv",
        "filters": {"severity": "high,medium", "os": "linux", "state": "open"},
        "rows": 5,
        "complete": True,
    }
    assert csv_event.summary == "exported 5 findings as CSV"
    assert xlsx_event.after["rows"] == 2  # type: ignore[index]
    assert xlsx_event.after["format"] == "xlsx"  # type: ignore[index]


def test_the_audit_event_is_written_when_the_stream_ends(estate: None) -> None:
    response = logged_in().get("/api/v1/findings/export.csv?severity=all")
    assert not AuditEvent.objects.filter(action=EXPORT).exists()
    b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert AuditEvent.objects.get(action=EXPORT).after["rows"] == 8  # type: ignore[index]


def test_a_download_stopped_half_way_is_recorded_as_interrupted(estate: None, monkeypatch) -> None:
    # Rows read 3 at a time, each sent as it is written: the client goes away after two of eight.
    monkeypatch.setattr(exports, "CHUNK_ROWS", 3)
    monkeypatch.setattr(exports, "CHUNK_BYTES", 1)
    findings, used = findings_for(None, {"severity": "all"})
    export = exports.Export(actor=None, filters=used, format="csv", base_url="http://testserver/")
    # Closed as a WSGI server closes the response when the client goes away (and even if this fails:
    # a stream left open holds the connection).
    with closing(exports.csv_chunks(export, findings)) as chunks:
        assert next(chunks).count(b"\r\n") == 2  # the header and a row
        assert next(chunks).count(b"\r\n") == 1
    event = AuditEvent.objects.get(action=EXPORT)
    assert event.summary == "exported 2 findings as CSV (interrupted)"
    assert event.after["complete"] is False  # type: ignore[index]
    # The rows' query was ended, not left holding the connection (PostgreSQL streams them).
    assert Finding.objects.filter(state="open").count() == 8


def test_the_xlsx_is_refused_over_the_row_cap(estate: None, settings) -> None:
    settings.POSTURE_XLSX_MAX_ROWS = 7
    client = logged_in()
    response = client.get("/api/v1/findings/export.xlsx?severity=all")
    assert response.status_code == 400
    assert "use CSV" in response.json()["detail"] or "as CSV" in response.json()["detail"]
    assert client.get("/api/v1/findings/export.xlsx?severity=high").status_code == 200
    assert len(export_csv(client, "?severity=all")) == 9


def test_the_command_exports_everything_as_csv_or_xlsx(estate: None, tmp_path) -> None:
    out = StringIO()
    call_command("export_findings", "--severity", "all", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(rows) == 9
    assert rows[1][-1].startswith("http://localhost:8000/resources/")
    target = tmp_path / "high.csv"
    call_command(
        "export_findings",
        "--severity",
        "high",
        "--os",
        "linux",
        "--bom",
        "-o",
        str(target),
        stderr=StringIO(),
    )
    assert target.read_bytes().startswith(b"\xef\xbb\xbfresource name")
    assert len(target.read_text(encoding="utf-8-sig").splitlines()) == 4
    workbook = tmp_path / "all.xlsx"
    call_command(
        "export_findings",
        "--format",
        "xlsx",
        "--resource-group",
        "rg-lab",
        "--severity",
        "all",
        "-o",
        str(workbook),
        stderr=StringIO(),
    )
    assert len(list(openpyxl.load_workbook(workbook).active.iter_rows())) == 3  # type: ignore[union-attr]
    events = AuditEvent.objects.filter(action=EXPORT).order_by("pk")
    assert [e.actor_name for e in events] == ["manage.py export_findings"] * 3
    assert [e.after["rows"] for e in events] == [8, 3, 2]  # type: ignore[index]
    assert events[2].after["filters"] == {"resource_group": "rg-lab", "severity": "all", "state": "open"}  # type: ignore[index]


def test_the_command_refuses_a_bad_filter_and_a_large_xlsx(estate: None, settings, tmp_path) -> None:
    with pytest.raises(CommandError, match="unknown severity"):
        call_command("export_findings", "--severity", "urgent", stdout=StringIO())
    settings.POSTURE_XLSX_MAX_ROWS = 1
    with pytest.raises(CommandError, match="CSV"):
        call_command("export_findings", "--format", "xlsx", "-o", str(tmp_path / "x.xlsx"))


def export_links(html: str) -> list[str]:
    return [
        unescape(part.split('"', 1)[0])
        for part in html.split('href="')[1:]
        if part.startswith("/api/v1/findings/export.")
    ]


def test_the_pages_link_to_exports_of_their_tables(estate: None) -> None:
    client = logged_in()
    rule = Rule.objects.get(key="CCE-1001-1")
    machine = Resource.objects.get(name="lnx-01")
    pages = {
        f"/rules/{rule.pk}/?subscription=Datacenter": {("lnx-01", "CCE-1001-1")},
        "/os-configuration/?os=linux&sort=title": {
            ("lnx-01", "CCE-1001-1"),
            ("lnx-01", "CCE-1002-2"),
            ("lnx-01", "tmp noexec"),
            ("'" + EVIL_HOST, "CCE-1001-1"),
            ("'" + EVIL_HOST, "tmp noexec"),
        },
        "/os-configuration/?severity=critical": {("win-01", "CCE-2001-1"), ("win-01", "CCE-2002-2")},
        f"/resources/{machine.pk}/": {
            ("lnx-01", "CCE-1001-1"),
            ("lnx-01", "CCE-1002-2"),
            ("lnx-01", "tmp noexec"),
        },
    }
    for page, expected in pages.items():
        response = client.get(page)
        assert response.status_code == 200
        # The table's own export is the last pair (the OS-configuration page's one-click critical
        # export comes first: tests/governance/test_analyst_pages.py).
        csv_link, xlsx_link = export_links(response.content.decode())[-2:]
        assert xlsx_link == csv_link.replace("export.csv", "export.xlsx")
        rows = export_csv(client, csv_link.removeprefix("/api/v1/findings/export.csv"))
        # The CCE ID, else the title.
        got = {(r[0], r[5] or r[6]) for r in rows[1:]}
        assert got == expected, page
        assert client.get(xlsx_link).status_code == 200


def test_a_findings_own_item_wins_over_its_machines(estate: None) -> None:
    finding = Finding.objects.get(resource__name="lnx-01", rule__key="CCE-1002-2")
    machine_item = Assignment.objects.get(assessment__resource=finding.resource, finding=None)
    created = Assignment.objects.create(
        assessment=machine_item.assessment,
        finding=finding,
        team=Team.objects.get(name="Windows"),
        owner="=cmd@example.com",
        status=AssignmentStatus.IN_PROGRESS,
        first_detected=MONDAY,
        due_date=date(2026, 12, 1),
    )
    refresh_tower_summaries([created.assessment.resource_id])
    rows = export_csv(logged_in(), "?severity=high&resource_group=rg-linux")
    header = rows[0]
    got = {r[header.index("CCE ID")]: r[header.index("team") :] for r in rows[1:]}
    assert got["CCE-1002-2"][:4] == ["Windows", "'=cmd@example.com", "2026-12-01", "in_progress"]
    assert got["CCE-1001-1"][:4] == ["Linux", "", "2026-12-14", "open"]
    # The filters and the API's annotations agree with the file.
    findings, _ = findings_for(make_user("admin", role=Role.ADMIN), {"severity": "high", "team": "Windows"})
    assert names(findings) == {("lnx-01", "CCE-1002-2")}
    assert findings.get().owner == "=cmd@example.com"  # type: ignore[attr-defined]
    admin = make_user("admin2", role=Role.ADMIN)
    with time_machine.travel(datetime(2026, 12, 5, tzinfo=UTC), tick=False):
        overdue, _ = findings_for(admin, {"severity": "all", "overdue": "1"})
        assert names(overdue) == {("lnx-01", "CCE-1002-2")}
        on_time, _ = findings_for(admin, {"severity": "high", "overdue": "no"})
        assert names(on_time) == {("lnx-01", "CCE-1001-1"), (EVIL_HOST, "CCE-1001-1")}


@pytest.mark.parametrize("parameter", ["rule", "team"])
def test_a_non_ascii_digit_in_an_id_filter_is_a_name_not_a_crash(admin_client, parameter):
    # str.isdigit() accepts "²", which int() refuses.
    response = admin_client.get("/api/v1/findings/export.csv", {parameter: "²"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).count(b"\r\n") == 1  # the header row only


@pytest.mark.browser
def test_a_tower_lead_downloads_the_overviews_export_in_chromium(
    estate: None, live_server: LiveServer, browser_page: Page
) -> None:
    make_user("lin-lead", password=PASSWORD, role=Role.LEAD, team=Team.objects.get(name="Linux"))
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("lin-lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/os-configuration/?severity=high")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("findings-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"), newline="")))
    assert {(r[0], r[5]) for r in rows[1:]} == {
        ("lnx-01", "CCE-1001-1"),
        ("lnx-01", "CCE-1002-2"),
        ("'" + EVIL_HOST, "CCE-1001-1"),
    }
    assert AuditEvent.objects.get(action=EXPORT).after["filters"] == {"severity": "high", "state": "open"}  # type: ignore[index]
