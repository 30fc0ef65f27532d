"""The analyst's loop on the pages: why each unhealthy resource is unhealthy, a recommendation's
resources with their items (team, owner, due date), search and export, the failed rules across the
machines of an OS-configuration recommendation, and the one-click critical export.

The estate is test_exports' (its scans are built by tests/scans.py, written for these tests)."""

import csv
import io
from html import unescape

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.trail import EXPORT
from governance.models import Assignment, Team
from governance.roles import Role
from recommendations.models import Rule
from tests.factories import make_user
from tests.governance.test_exports import EVIL_HOST, estate  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("estate")]
MACHINES = "/recommendations/machine-config-vulns/"


def client_for(username: str, role: Role = Role.ANALYST, team: Team | None = None) -> Client:
    client = Client()
    client.force_login(make_user(username, role=role, team=team))
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return unescape(response.content.decode())


def test_unhealthy_resources_say_which_recommendation_they_fail_and_why() -> None:
    html = page(client_for("analyst"), "/resources/?state=unhealthy")
    assert "Failing recommendations and reason" in html
    assert "Vulnerabilities in security configuration on your machines should be remediated" in html
    assert "3 failed OS configuration rules (2 high, 1 medium)" in html  # lnx-01
    assert "3 failed OS configuration rules (2 critical, 1 medium)" in html  # win-01


def test_recommendation_page_shows_each_resources_team_owner_and_due_date() -> None:
    item = Assignment.objects.get(assessment__resource__name="lnx-01", finding__isnull=True)
    Assignment.objects.filter(pk=item.pk).update(owner="lin-owner@example.com")
    html = page(client_for("analyst"), MACHINES)
    for header in ("Reason", "Team", "Owner", "Due date"):
        assert f">{header}</a>" in html
    assert f'href="/items/{item.pk}/">Linux</a>' in html
    assert "lin-owner@example.com" in html
    assert "2026-12-14" in html
    # The search narrows the rows to the resources whose name or id holds the text.
    found = page(client_for("analyst2"), MACHINES + "?q=win-")
    assert "win-01" in found
    assert "lnx-01" not in found
    assert "Nothing matches “nope”." in page(client_for("analyst3"), MACHINES + "?q=nope")


def test_a_lead_reads_another_towers_item_on_a_recommendation_as_no_item() -> None:
    linux = Team.objects.get(name="Linux")
    Assignment.objects.filter(assessment__resource__name="win-01").update(owner="win-owner@example.com")
    html = page(client_for("lin-lead", Role.LEAD, linux), MACHINES)
    assert "lnx-01" in html
    for other in ("win-01", "win-owner@example.com", "Windows"):
        assert other not in html


def test_recommendation_export_is_the_tab_with_its_governance_neutralised_and_audited() -> None:
    response = client_for("analyst").get(MACHINES + "export.csv?tab=unhealthy")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="machine-config-vulns-unhealthy-')
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    by_name = {row["resource name"]: row for row in rows}
    assert set(by_name) == {"lnx-01", "win-01", "'" + EVIL_HOST}
    lnx = by_name["lnx-01"]
    assert (lnx["status"], lnx["reason"]) == (
        "Unhealthy",
        "3 failed OS configuration rules (2 high, 1 medium)",
    )
    assert (lnx["team"], lnx["due date"], lnx["item status"]) == ("Linux", "2026-12-14", "open")
    assert lnx["link"].startswith("http://testserver/resources/")
    event = AuditEvent.objects.get(action=EXPORT, object_type="recommendation")
    assert event.after is not None
    assert (event.after["rows"], event.after["complete"]) == (3, True)
    searched = client_for("analyst2").get(MACHINES + "export.csv?q=lnx")
    body = b"".join(searched.streaming_content).decode()  # type: ignore[attr-defined]
    assert [row["resource name"] for row in csv.DictReader(io.StringIO(body))] == ["lnx-01"]


def test_os_configuration_recommendation_lists_its_failed_rules_across_machines() -> None:
    html = page(client_for("analyst"), MACHINES + "?tab=rules")
    sshd = Rule.objects.get(key="CCE-1001-1")
    # Failing on lnx-01 and on the formula-named host: two machines, linked to the rule's Failing tab.
    assert (
        f'href="/rules/{sshd.pk}/?tab=failing#machines" aria-label="2 machines failing CCE-1001-1">2</a>'
        in html
    )
    assert ">Critical</span>" in html
    assert ">High</span>" in html
    # The scale-set recommendation has no instance here: none of these rules.
    assert "CCE-1001-1" not in page(client_for("analyst2"), "/recommendations/vmss-config-vulns/?tab=rules")
    # Another recommendation has no rules tab (an unknown tab shows the first).
    assert "Failed rules" not in page(
        client_for("analyst3"), "/recommendations/vm-agent-installed/?tab=rules"
    )


@pytest.mark.parametrize("url", ["/", "/os-configuration/", MACHINES])
def test_one_click_critical_export_from_the_dashboard_os_configuration_and_recommendation(url: str) -> None:
    client = client_for("analyst")
    html = page(client, url)
    recommendation = "?recommendation=machine-config-vulns" if url == MACHINES else ""
    link = f'href="/api/v1/findings/export.csv{recommendation}" download>Export critical findings'
    assert link in html
    assert f'href="/api/v1/findings/export.xlsx{recommendation}" download>XLSX' in html
    response = client.get(f"/api/v1/findings/export.csv{recommendation}")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert {row["severity"] for row in rows} == {"critical", "high"}
    assert len(rows) == 5


def test_the_critical_export_keeps_the_scope() -> None:
    html = page(client_for("analyst"), "/os-configuration/?subscription=Lab")
    link = 'href="/api/v1/findings/export.csv?subscription=Lab" download>Export critical findings (1)'
    assert link in html


def test_the_export_writes_times_in_utc() -> None:
    response = client_for("analyst").get(MACHINES + "export.csv")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    changed = {row["status changed"] for row in csv.DictReader(io.StringIO(body, newline=""))}
    assert changed
    assert all(len(value) == 20 and value.endswith("Z") for value in changed), changed


@pytest.mark.parametrize("url", ["/", "/os-configuration/", "/resources/", MACHINES, "/baseline/"])
def test_a_leads_pages_say_which_tower_they_cover(url: str) -> None:
    linux = Team.objects.get(name="Linux")
    html = page(client_for("lin-lead", Role.LEAD, linux), url)
    assert "Your tower Linux: its resources in every subscription" in html
    assert "Your tower" not in page(client_for("analyst"), url)


def test_the_dashboard_explains_its_weighted_percentage_beside_the_points() -> None:
    html = page(client_for("analyst"), "/")
    # Two subscriptions (Datacenter, Lab): the percentage is the weighted formula's, said where it stands.
    assert "is the secure score of the 2 subscriptions, each weighted by its counted resources" in html
    assert "The points are summed over the subscriptions:" in html
    single = page(client_for("analyst2"), "/?subscription=Lab")
    assert "each weighted by its counted resources" not in single
