"""Read endpoints: every list and detail for an analyst, a tower's lead scoped to the tower (another
tower's object is a 404 by id), filters, the ordering whitelist and cursor pagination."""

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import Assignment, Exemption
from governance.towers import refresh_tower_summaries
from posture.models import ImportJob
from recommendations.models import Finding, Rule
from scoring.models import Control
from tests.api.conftest import Estate, token_client
from tests.factories import make_resource

pytestmark = pytest.mark.django_db

LISTS = (
    "api-subscriptions",
    "api-resources",
    "api-imports",
    "api-controls",
    "api-recommendations",
    "api-assessments",
    "api-rules",
    "api-findings",
    "api-teams",
    "api-assignments",
    "api-exemptions",
    "api-governance-rules",
)


def results(client: Client, route: str, **query: Any) -> list[dict[str, Any]]:
    response = client.get(reverse(route), query)
    assert response.status_code == 200, (route, response.content)
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    return list(body["results"])


@pytest.mark.parametrize("name", LISTS)
def test_every_list_is_cursor_paginated_for_an_analyst(estate: Estate, api: Client, name: str) -> None:
    results(api, name)


def test_details_by_id(estate: Estate, api: Client) -> None:
    red = estate.red
    assert api.get(reverse("api-resource", args=[red.resource.pk])).json()["name"] == "red-vm"
    assert api.get(reverse("api-subscription", args=[red.subscription.pk])).json()["name"] == "sub-red"
    assessment = api.get(reverse("api-assessment", args=[red.assessment.pk])).json()
    assert (assessment["recommendation"], assessment["status"]) == ("disk-encryption", "unhealthy")
    assert api.get(reverse("api-recommendation", args=["disk-encryption"])).json()["severity"] == "high"
    control = Control.objects.get(name="Encrypt data at rest")
    assert api.get(reverse("api-control", args=[control.pk])).json()["recommendations"] == ["disk-encryption"]
    rule = Rule.objects.get(key__contains="sshd_disable_root_login")
    assert api.get(reverse("api-rule", args=[rule.pk])).json()["key"] == rule.key
    item = api.get(reverse("api-assignment", args=[red.item.pk])).json()
    assert (item["team_name"], item["resource_name"]) == ("red", "red-vm")


def test_a_lead_sees_only_the_towers_objects(estate: Estate) -> None:
    lead = token_client(estate.red.lead)
    assert [r["name"] for r in results(lead, "api-resources")] == ["red-vm"]
    assert {a["resource_name"] for a in results(lead, "api-assessments")} == {"red-vm"}
    assert {f["resource_name"] for f in results(lead, "api-findings", severity="all")} == {"red-vm"}
    assert [i["id"] for i in results(lead, "api-assignments")] == [estate.red.item.pk]
    assert [t["name"] for t in results(lead, "api-teams")] == ["red"]
    # The catalogs are everybody's.
    assert [r["key"] for r in results(lead, "api-recommendations", key="disk-encryption")] == [
        "disk-encryption"
    ]


def test_another_towers_object_is_a_404_by_id(estate: Estate) -> None:
    lead = token_client(estate.red.lead)
    blue = estate.blue
    blue_finding = Finding.objects.get(resource=blue.resource)
    for name, pk in (
        ("api-resource", blue.resource.pk),
        ("api-assessment", blue.assessment.pk),
        ("api-finding", blue_finding.pk),
        ("api-assignment", blue.item.pk),
        ("api-assignment-comments", blue.item.pk),
    ):
        assert lead.get(reverse(name, args=[pk])).status_code == 404, name
    assert (
        lead.patch(
            reverse("api-assignment", args=[blue.item.pk]),
            {"status": "resolved"},
            content_type="application/json",
        ).status_code
        == 404
    )
    # Naming the other tower's subscription is the 404 of an unknown one.
    assert lead.get(reverse("api-resources"), {"subscription": "sub-blue"}).status_code == 404


def test_the_routes_say_who_reads_what(estate: Estate) -> None:
    lead = token_client(estate.red.lead)
    for name in ("api-subscriptions", "api-imports", "api-exemptions", "api-governance-rules"):
        assert lead.get(reverse(name)).status_code == 403, name


def test_the_subscription_parameter_narrows_every_scoped_list(estate: Estate, api: Client) -> None:
    assert [r["name"] for r in results(api, "api-resources", subscription="sub-blue")] == ["blue-vm"]
    assert {a["resource_name"] for a in results(api, "api-assessments", subscription="sub-blue")} == {
        "blue-vm"
    }
    assert [i["id"] for i in results(api, "api-assignments", subscription="sub-blue")] == [
        estate.blue.item.pk
    ]
    assert api.get(reverse("api-resources"), {"subscription": "nope"}).status_code == 404


def test_filters(estate: Estate, api: Client) -> None:
    make_resource(estate.red.subscription, name="red-win", os="windows")
    assert [r["name"] for r in results(api, "api-resources", os="windows")] == ["red-win"]
    assert [r["name"] for r in results(api, "api-resources", name="RED-")] == ["red-vm", "red-win"]
    assert {r["name"] for r in results(api, "api-resources", state="unhealthy")} == {"blue-vm", "red-vm"}
    assert len(results(api, "api-assessments", status="healthy")) == 0
    assert len(results(api, "api-assessments", recommendation="disk-encryption", status="unhealthy")) == 2
    assert {f["state"] for f in results(api, "api-findings", state="open", severity="all")} == {"open"}
    assert len(results(api, "api-findings", state="passed", severity="all")) == 1
    assert [i["team_name"] for i in results(api, "api-assignments", team=estate.blue.team.pk)] == ["blue"]
    # Only the published Windows baseline has critical rules; the estate's scans add none.
    assert {r["os"] for r in results(api, "api-rules", severity="critical")} == {"windows"}
    assert results(api, "api-rules", severity="critical", os="linux") == []
    assert [t["name"] for t in results(api, "api-teams", name="lu")] == ["blue"]
    bad = api.get(reverse("api-resources"), {"kind": "toaster"})
    assert bad.status_code == 400
    assert "kind" in bad.json()


def test_exemption_and_import_filters(estate: Estate, api: Client) -> None:
    Exemption.objects.create(
        recommendation=estate.recommendation,
        resource=estate.red.resource,
        category="waiver",
        justification="x",
    )
    assert len(results(api, "api-exemptions", active="true")) == 1
    assert len(results(api, "api-exemptions", category="mitigated")) == 0
    ImportJob.objects.create(original_name="a.xml", size=1, sha256="1" * 64, status="failed")
    assert [j["status"] for j in results(api, "api-imports", status="failed")] == ["failed"]


def test_ordering_is_whitelisted_and_anything_else_is_ignored(estate: Estate, api: Client) -> None:
    assert [r["name"] for r in results(api, "api-resources", ordering="-name")] == ["red-vm", "blue-vm"]
    assert [r["name"] for r in results(api, "api-resources", ordering="name")] == ["blue-vm", "red-vm"]
    by_id = [r["name"] for r in results(api, "api-resources")]
    # Not whitelisted (a tag, a related field, a secret-ish column): the default order, by id.
    for ordering in ("tags", "subscription__name", "-workspace_id", "nonsense"):
        assert [r["name"] for r in results(api, "api-resources", ordering=ordering)] == by_id, ordering


def test_cursor_pages_walk_every_row_once_in_any_order(estate: Estate, api: Client) -> None:
    for n in range(7):
        make_resource(estate.red.subscription, name=f"same-name-{n % 2}", resource_id=f"/same/{n}")
    for ordering in ("", "name", "-name", "kind"):
        seen: list[int] = []
        response = api.get(reverse("api-resources"), {"page_size": 2, "ordering": ordering})
        while True:
            body = response.json()
            assert len(body["results"]) <= 2
            seen += [r["id"] for r in body["results"]]
            if body["next"] is None:
                break
            response = api.get(body["next"])
        assert len(seen) == len(set(seen)) == 9, ordering
        # And back again from the last page, the same rows in the same order.
        back: list[int] = []
        while body["previous"] is not None:
            body = api.get(body["previous"]).json()
            back = [r["id"] for r in body["results"]] + back
        assert back == seen[: len(back)]
        assert len(back) == 9 - len(response.json()["results"]), ordering


def test_the_page_size_is_capped(estate: Estate, api: Client) -> None:
    for n in range(3):
        make_resource(estate.red.subscription, name=f"extra-{n}")
    assert len(results(api, "api-resources", page_size=1)) == 1
    assert len(results(api, "api-resources", page_size=100000)) == 5


def test_a_garbled_cursor_is_a_404_and_a_cursor_of_another_order_starts_again(
    estate: Estate, api: Client
) -> None:
    assert api.get(reverse("api-resources"), {"cursor": "not-a-cursor"}).status_code == 404
    first = api.get(reverse("api-resources"), {"page_size": 1}).json()
    by_name = api.get(first["next"] + "&ordering=name").json()
    assert by_name["results"][0]["name"] == "blue-vm"


def test_findings_use_the_exports_filters_and_carry_their_governance(estate: Estate, api: Client) -> None:
    finding = Finding.objects.get(resource=estate.red.resource, state="open")
    created = Assignment.objects.create(
        assessment=estate.red.assessment,
        finding=finding,
        team=estate.red.team,
        owner="red-lead@example.com",
        first_detected=finding.last_seen,
        due_date=date(2026, 12, 24),
    )
    refresh_tower_summaries([created.assessment.resource_id])
    # Defaults of governance.findings: the critical findings (open, critical or high).
    critical = {f["id"] for f in results(api, "api-findings")}
    every_open = Finding.objects.filter(state="open")
    assert critical == set(
        every_open.filter(rule__severity__in=("critical", "high")).values_list("pk", flat=True)
    )
    assert {f["state"] for f in results(api, "api-findings", severity="all")} == {"open"}
    assert len(results(api, "api-findings", severity="all")) == every_open.count() > len(critical)
    mine = results(api, "api-findings", team="red", severity="all")
    assert [(f["id"], f["team"], f["owner"], f["due_date"]) for f in mine] == [
        (finding.pk, "red", "red-lead@example.com", "2026-12-24")
    ]
    assert api.get(reverse("api-finding", args=[finding.pk])).json()["team"] == "red"
    for bad in ({"severity": "dreadful"}, {"resource": "-1e308"}, {"resource": "9" * 20}, {"resource": "²"}):
        assert api.get(reverse("api-findings"), bad).status_code == 400, bad
