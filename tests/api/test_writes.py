"""Writes go through the audited services: assigning, changing and commenting on items, exempting and
ending exemptions, governance rules. The route table says who may call, the services what they may do."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from governance.models import Assignment, Comment, Exemption, GovernanceRule
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from recommendations.models import Assessment, Finding
from tests.api.conftest import Estate, token_client
from tests.factories import make_assessment, make_resource, make_user

pytestmark = pytest.mark.django_db


def send(client: Client, method: str, route: str, data: dict[str, Any], *args: int) -> Any:
    call = client.post if method == "post" else client.patch
    return call(reverse(route, args=args), data, content_type="application/json")


def audited(action: str, obj: Any) -> list[AuditEvent]:
    kind = obj._meta.model_name
    return list(
        AuditEvent.objects.filter(action=action, object_type=kind, object_id=str(obj.pk)).order_by("pk")
    )


# Assignments.


def test_an_analyst_assigns_an_item_by_hand(estate: Estate, api: Client) -> None:
    resource = make_resource(estate.red.subscription, name="red-db")
    assessment = make_assessment(resource, estate.recommendation, "unhealthy")
    response = send(
        api, "post", "api-assignments", {"assessment": assessment.pk, "team": estate.blue.team.pk}
    )
    assert response.status_code == 201, response.content
    item = Assignment.objects.get(pk=response.json()["id"])
    assert (item.team, item.manual) == (estate.blue.team, True)
    assert len(audited("assign", item)) == 1


def test_assigning_an_assigned_item_again_reassigns_it(estate: Estate, api: Client) -> None:
    data = {
        "assessment": estate.red.assessment.pk,
        "team": estate.blue.team.pk,
        "owner": "blue-lead@example.com",
    }
    response = send(api, "post", "api-assignments", data)
    assert response.status_code == 200
    estate.red.item.refresh_from_db()
    assert (estate.red.item.team, estate.red.item.owner) == (estate.blue.team, "blue-lead@example.com")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"team": "blue", "owner": "red-member@example.com"},
            "red-member@example.com is not a member of blue",
        ),
        ({}, "choose a team or give an owner"),
    ],
)
def test_the_owner_is_checked_as_on_the_pages(
    estate: Estate, api: Client, data: dict[str, str], message: str
) -> None:
    teams = {"blue": estate.blue.team.pk}
    body = {"assessment": estate.red.assessment.pk, **{k: teams.get(v, v) for k, v in data.items()}}
    response = send(api, "post", "api-assignments", body)
    assert response.status_code == 400
    assert response.json() == {"detail": message}
    changed = send(api, "patch", "api-assignment", {"owner": "blue-lead@example.com"}, estate.red.item.pk)
    assert changed.status_code == 400


def test_a_failed_rule_becomes_its_own_item(estate: Estate, api: Client) -> None:
    finding = Finding.objects.get(resource=estate.red.resource, state="open")
    data = {"assessment": estate.red.assessment.pk, "finding": finding.pk, "team": estate.red.team.pk}
    response = send(api, "post", "api-assignments", data)
    assert response.status_code == 201
    assert response.json()["finding"] == finding.pk


def test_a_lead_assigns_within_the_tower_only(estate: Estate) -> None:
    lead = token_client(estate.red.lead)
    resource = make_resource(estate.red.subscription, name="red-db")
    assessment = make_assessment(resource, "disk-encryption", "unhealthy")
    # The lead sees red-db only once it is an item of the tower.
    created = Assignment.objects.create(
        assessment=assessment,
        team=estate.red.team,
        first_detected=timezone.now(),
        due_date=timezone.localdate(),
    )
    refresh_tower_summaries([created.assessment.resource_id])
    other = send(lead, "post", "api-assignments", {"assessment": assessment.pk, "team": estate.blue.team.pk})
    assert other.status_code == 403
    assert "within the tower" in other.json()["detail"]
    # Another tower's assessment is not even there for the lead.
    blue = send(
        lead, "post", "api-assignments", {"assessment": estate.blue.assessment.pk, "team": estate.red.team.pk}
    )
    assert blue.status_code == 404


def test_members_and_viewers_cannot_assign(estate: Estate) -> None:
    viewer = token_client(make_user("vi", role=Role.VIEWER))
    member = token_client(estate.red.member)
    data = {"assessment": estate.red.assessment.pk, "team": estate.red.team.pk}
    assert send(viewer, "post", "api-assignments", data).status_code == 403
    assert send(member, "post", "api-assignments", data).status_code == 403


def test_a_member_changes_status_and_eta_but_does_not_reassign(estate: Estate) -> None:
    member = token_client(estate.red.member)
    item = estate.red.item
    eta = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = send(member, "patch", "api-assignment", {"status": "in_progress", "eta": eta}, item.pk)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["eta"]) == ("in_progress", eta)
    assert [
        e.action
        for e in AuditEvent.objects.filter(object_type="assignment", object_id=str(item.pk)).order_by("pk")
    ] == [
        "status",
        "eta",
    ]
    refused = send(member, "patch", "api-assignment", {"team": estate.blue.team.pk}, item.pk)
    assert refused.status_code == 403
    cleared = send(member, "patch", "api-assignment", {"eta": None}, item.pk)
    assert cleared.json()["eta"] is None


def test_a_bad_change_is_a_400(estate: Estate, api: Client) -> None:
    item = estate.red.item
    assert send(api, "patch", "api-assignment", {"status": "done"}, item.pk).status_code == 400
    assert send(api, "patch", "api-assignment", {"team": 999999}, item.pk).status_code == 400
    assert send(api, "patch", "api-assignment", {"eta": "soon"}, item.pk).status_code == 400


def test_a_viewer_reads_items_but_cannot_change_them(estate: Estate) -> None:
    viewer = token_client(make_user("vi", role=Role.VIEWER))
    item = estate.red.item
    assert viewer.get(reverse("api-assignment", args=[item.pk])).status_code == 200
    assert send(viewer, "patch", "api-assignment", {"status": "resolved"}, item.pk).status_code == 403
    assert send(viewer, "post", "api-assignment-comments", {"text": "hi"}, item.pk).status_code == 403


def test_comments_are_added_through_the_service_and_listed(estate: Estate) -> None:
    member = token_client(estate.red.member)
    item = estate.red.item
    response = send(member, "post", "api-assignment-comments", {"text": "patching on Friday"}, item.pk)
    assert response.status_code == 201
    assert response.json()["author"] == "red-member"
    assert Comment.objects.get(assignment=item).text == "patching on Friday"
    assert len(audited("comment", item)) == 1
    listed = member.get(reverse("api-assignment-comments", args=[item.pk])).json()["results"]
    assert [c["text"] for c in listed] == ["patching on Friday"]
    assert send(member, "post", "api-assignment-comments", {"text": "  "}, item.pk).status_code == 400
    other = token_client(estate.blue.member)
    assert send(other, "post", "api-assignment-comments", {"text": "mine?"}, item.pk).status_code == 404


# Exemptions.


def test_an_analyst_exempts_a_resource_and_ends_the_exemption(estate: Estate, api: Client) -> None:
    data = {
        "recommendation": "disk-encryption",
        "resource": estate.red.resource.pk,
        "category": "waiver",
        "justification": "decommissioned next week",
    }
    response = send(api, "post", "api-exemptions", data)
    assert response.status_code == 201, response.content
    exemption = Exemption.objects.get(pk=response.json()["id"])
    assert response.json()["scope"] == "resource red-vm"
    assessment = Assessment.objects.get(pk=estate.red.assessment.pk)
    assert (assessment.status, assessment.reason) == ("not_applicable", "Exempted: Waiver")
    assert len(audited("exempt", exemption)) == 1
    ended = send(api, "post", "api-exemption-end", {}, exemption.pk)
    assert ended.status_code == 200
    assert ended.json()["ended_at"] is not None
    assert Assessment.objects.get(pk=estate.red.assessment.pk).status == "unhealthy"
    assert len(audited("exemption_end", exemption)) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"category": "waiver", "justification": "x"}, "recommendation"),
        ({"recommendation": "nope", "category": "waiver", "justification": "x"}, "recommendation"),
        ({"recommendation": "disk-encryption", "category": "forever", "justification": "x"}, "category"),
    ],
)
def test_a_bad_exemption_names_the_field(
    estate: Estate, api: Client, data: dict[str, str], field: str
) -> None:
    response = send(api, "post", "api-exemptions", data)
    assert response.status_code == 400
    assert field in response.json()


def test_the_service_refuses_what_it_refuses(estate: Estate, api: Client) -> None:
    past = (timezone.now() - timedelta(days=1)).isoformat()
    data = {
        "recommendation": "disk-encryption",
        "category": "waiver",
        "justification": "x",
        "expires_at": past,
    }
    response = send(api, "post", "api-exemptions", data)
    assert response.status_code == 400
    assert response.json() == {"detail": "the expiry is in the past"}
    assert not Exemption.objects.exists()


def test_a_viewer_reads_exemptions_and_cannot_exempt(estate: Estate) -> None:
    viewer = token_client(make_user("vi", role=Role.VIEWER))
    assert viewer.get(reverse("api-exemptions")).status_code == 200
    data = {"recommendation": "disk-encryption", "category": "waiver", "justification": "x"}
    assert send(viewer, "post", "api-exemptions", data).status_code == 403


# Governance rules.


def test_an_analyst_creates_a_rule_that_assigns_at_once(estate: Estate, api: Client) -> None:
    resource = make_resource(estate.blue.subscription, name="blue-db")
    make_assessment(resource, estate.recommendation, "unhealthy")
    data = {"name": "High to blue", "priority": 5, "team": estate.blue.team.pk, "severities": ["high"]}
    response = send(api, "post", "api-governance-rules", data)
    assert response.status_code == 201, response.content
    rule = GovernanceRule.objects.get(name="High to blue")
    assert Assignment.objects.get(assessment__resource=resource).rule == rule
    assert len(audited("governance_rule", rule)) == 1


def test_a_rule_is_changed_and_deactivated(estate: Estate, api: Client) -> None:
    rule = GovernanceRule.objects.create(name="All to red", priority=1, team=estate.red.team)
    response = send(api, "patch", "api-governance-rule", {"timeframe_days": 7, "active": False}, rule.pk)
    assert response.status_code == 200, response.content
    assert (response.json()["timeframe_days"], response.json()["active"]) == (7, False)
    assert [e.summary.rsplit(" ", 1)[-1] for e in audited("governance_rule", rule)] == [
        "changed",
        "deactivated",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "B", "priority": 1, "owner_email": "b@example.com"}, "already"),
        ({"name": "C", "priority": 2}, "team, an owner"),
        ({"name": "D", "priority": 3, "owner_email": "d@x.com", "kinds": ["toaster"]}, "unknown kind"),
    ],
)
def test_the_rules_service_validates(estate: Estate, api: Client, data: dict[str, Any], message: str) -> None:
    GovernanceRule.objects.create(name="A", priority=1, team=estate.red.team)
    response = send(api, "post", "api-governance-rules", data)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_leads_cannot_write_rules(estate: Estate) -> None:
    lead = token_client(estate.red.lead)
    data = {"name": "Mine", "priority": 9, "team": estate.red.team.pk}
    assert send(lead, "post", "api-governance-rules", data).status_code == 403
