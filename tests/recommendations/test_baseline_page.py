"""The Baseline page with the published baselines: their rules before any scan, the filters a GPO
administrator uses, and the filtered list as a CSV / XLSX checklist.

Expected counts are computed from the shipped catalog files (Microsoft's published facts), so the test
checks the page against the source, not against numbers copied from a run.
"""

import csv
import io
import json
from urllib.parse import quote

import pytest
from django.test import Client
from openpyxl import load_workbook

from audit.models import AuditEvent
from governance.models import Team
from governance.roles import Role
from recommendations.catalog.baselines import BASELINES, LINUX, WINDOWS
from recommendations.models import Benchmark
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def published(benchmark_id: str) -> list[dict]:
    return json.loads(BASELINES[benchmark_id][0].read_text())["rules"]


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user(role=Role.VIEWER))
    return client


def listed(client: Client, query: str) -> tuple[int, list[str]]:
    response = client.get(f"/baseline/?{query}")
    assert response.status_code == 200, response.content
    return response.context["page_obj"].paginator.count, [row.rule.key for row in response.context["rows"]]


def benchmark(benchmark_id: str) -> int:
    return Benchmark.objects.get(benchmark_id=benchmark_id).pk


def test_every_published_rule_is_listed_before_any_scan(user_client: Client):
    assert listed(user_client, f"benchmark={benchmark(WINDOWS)}")[0] == 285
    assert listed(user_client, f"benchmark={benchmark(LINUX)}")[0] == 174
    _, keys = listed(user_client, f"benchmark={benchmark(WINDOWS)}")
    assert keys[0] == "AZ-WIN-00004"  # sorted by ID, as the source is


@pytest.mark.parametrize("version", ["WS2008", "WS2008R2", "WS2016", "WS2022", "WSASHCI22H2"])
def test_os_version_filter_matches_whole_names(user_client: Client, version: str):
    expected = sum(1 for rule in published(WINDOWS) if version in rule["os"])
    assert listed(user_client, f"os_version={version}")[0] == expected


@pytest.mark.parametrize("server_type", ["Domain Controller", "Domain Member", "Workgroup Member"])
def test_server_type_filter(user_client: Client, server_type: str):
    expected = sum(1 for rule in published(WINDOWS) if server_type in rule["server_type"])
    assert listed(user_client, f"server_type={server_type}")[0] == expected


def test_severity_section_and_filters_together(user_client: Client):
    windows = published(WINDOWS)
    critical = sum(1 for rule in windows if rule["severity"] == "Critical")
    assert listed(user_client, f"benchmark={benchmark(WINDOWS)}&severity=critical")[0] == critical == 173
    firewall = [r for r in windows if r["section"] == "Security Settings - Windows Firewall"]
    count, _ = listed(user_client, "section=Security Settings - Windows Firewall")
    assert count == len(firewall) == 33
    both = [r for r in firewall if "Workgroup Member" in r["server_type"] and r["severity"] == "Critical"]
    query = "section=Security Settings - Windows Firewall&server_type=Workgroup Member&severity=critical"
    assert listed(user_client, query)[0] == len(both)


@pytest.mark.parametrize(
    ("search", "key"),
    [
        ("AZ-WIN-00026", "AZ-WIN-00026"),  # by ID
        ("blank passwords to console", "CCE-37615-2"),  # by name
        ("Lsa\\LimitBlankPassword", "CCE-37615-2"),  # by key path
        ("{0CCE9249-69AE", "AZ-WIN-00026"),  # an audit subcategory's GUID
    ],
)
def test_search_by_id_name_or_key_path(user_client: Client, search: str, key: str):
    assert listed(user_client, f"q={quote(search)}")[1] == [key]


@pytest.mark.parametrize(
    "query", ["os_version=WS2030", "server_type=Mainframe", "section=Nothing%20like%20it", "severity=dire"]
)
def test_an_unknown_filter_value_is_a_400_with_its_reason(user_client: Client, query: str):
    response = user_client.get(f"/baseline/?{query}")
    assert response.status_code == 400
    text = response.content.decode().lower()
    assert "unknown" in text or "no rule is in the section" in text


def test_the_csv_checklist_is_the_filtered_list_with_formulas_neutralised(user_client: Client):
    response = user_client.get(
        f"/baseline/export.csv?benchmark={benchmark(WINDOWS)}&server_type=Domain Member"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="baseline-')
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    header, body = rows[0], rows[1:]
    assert header[:8] == [
        "ID", "name", "section", "Group Policy path", "Group Policy value", "key path", "expected value",
        "severity",
    ]  # fmt: skip
    assert len(body) == sum(1 for rule in published(WINDOWS) if "Domain Member" in rule["server_type"])
    by_id = {row[0]: row for row in body}
    blank = by_id["CCE-37615-2"]
    assert blank[4] == "Enabled"
    assert blank[5] == "SYSTEM\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse"
    assert blank[7] == "Critical"
    # "= 0" would be a formula in a spreadsheet: written as text.
    assert by_id["AZ-WIN-00088"][6] == "'= 0"
    assert not [cell for row in body for cell in row if cell.startswith(("=", "+", "-", "@"))]
    event = AuditEvent.objects.latest("pk")
    assert event.summary == f"exported {len(body)} baseline rules as CSV"
    assert event.after is not None
    assert event.after["filters"]["server_type"] == "Domain Member"


def test_the_xlsx_checklist_holds_the_same_rows(user_client: Client):
    response = user_client.get(f"/baseline/export.xlsx?benchmark={benchmark(LINUX)}&q=sshd_config")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.getvalue()), read_only=True)
    rows = list(workbook["Baseline"].iter_rows(values_only=True))
    assert rows[0][0] == "ID"
    assert {row[0] for row in rows[1:]} == {r["id"] for r in published(LINUX) if "sshd_config" in r["name"]}
    assert {row[6] for row in rows[1:]} >= {"Protocol 2 in /etc/ssh/sshd_config"}


def test_a_bad_filter_exports_nothing(user_client: Client):
    assert user_client.get("/baseline/export.csv?os_version=WS1999").status_code == 400
    assert user_client.get("/baseline/export.xlsx?subscription=nope").status_code == 404
    assert not AuditEvent.objects.filter(summary__contains="baseline rules").exists()


def test_the_xlsx_refuses_more_rows_than_its_limit(user_client: Client, settings):
    settings.POSTURE_XLSX_MAX_ROWS = 10
    response = user_client.get("/baseline/export.xlsx")
    assert response.status_code == 400
    assert "more than 10 rules selected" in response.content.decode().lower()


def test_the_page_and_its_exports_need_a_login_and_a_role(client: Client):
    for path in ("/baseline/", "/baseline/export.csv", "/baseline/export.xlsx"):
        response = client.get(path)
        assert (response.status_code, response["Location"][:16]) == (302, "/accounts/login/"), path
    client.force_login(make_user("nobody", role=None))
    for path in ("/baseline/", "/baseline/export.csv", "/baseline/export.xlsx"):
        assert client.get(path).status_code == 403, path


def test_a_tower_member_exports_the_same_checklist(client: Client):
    """Rule facts hold no machine data: every role gets the whole published list."""
    client.force_login(make_user("member", role=Role.MEMBER, team=Team.objects.create(name="Tower")))
    response = client.get(f"/baseline/export.csv?benchmark={benchmark(WINDOWS)}")
    assert response.status_code == 200
    assert len(response.getvalue().decode().strip().splitlines()) == 286
