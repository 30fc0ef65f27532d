"""Exemption requests with approval: a tower lead or member asks (Waiver, Mitigated or Risk accepted, a
justification, an expiry) for one or several items; an analyst or admin other than the requester approves
or rejects; approved ones are warned of a week before (mail to the owner and the lead) and expire on their
date, the items coming back. My items filters by status and shows the requests and exemptions."""

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from audit.models import AuditEvent
from governance.assignments import Change, update_item
from governance.exemption_requests import Ask, decide_request, follow_expiry, request_exemption
from governance.models import Assignment, AssignmentStatus, Exemption, ExemptionRequest, RequestState
from posture.errors import UserError
from recommendations.models import AssessmentStatus
from tests.governance.test_items import Estate, client_for, estate, make_item

pytestmark = pytest.mark.django_db

__all__ = ["estate"]  # the fixture, used by name

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 12, 10)
UNTIL = date(2027, 1, 31)


@pytest.fixture(autouse=True)
def noon():
    with time_machine.travel(NOW, tick=False):
        yield


def ask_by_page(client: Client, items: list[Assignment], **fields: str):
    data = {
        "item": [str(item.pk) for item in items],
        "category": "waiver",
        "justification": "Legacy app, replaced in Q1",
        "expires_on": UNTIL.isoformat(),
        **fields,
    }
    return client.post("/exemption-requests/new/", data, follow=True)


def page_text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_a_lead_asks_an_analyst_approves_and_the_items_leave_the_score_until_the_expiry(
    estate: Estate, django_capture_on_commit_callbacks
):
    first, second = make_item(estate.linux, TODAY), make_item(estate.linux, TODAY)
    first.owner = "lin-member@example.com"
    first.save()
    lead = client_for(estate.lin_lead)

    response = ask_by_page(lead, [first, second])
    assert "waits for an analyst's approval" in page_text(response)
    request = ExemptionRequest.objects.get()
    assert (request.state, request.category, request.expires_on) == (RequestState.PENDING, "waiver", UNTIL)
    assert set(request.items.all()) == {first, second}
    # Nothing is exempted before the approval; My items shows the pending request.
    first.assessment.refresh_from_db()
    assert first.assessment.status == AssessmentStatus.UNHEALTHY
    assert "Waiver requested until 2027-01-31 · pending" in page_text(lead.get("/my-items/"))
    assert [i.pk for i in items_shown(lead, "requested")] == [first.pk, second.pk]

    analyst = client_for(estate.analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = analyst.post(
            f"/exemption-requests/{request.pk}/decide/", {"decision": "approve"}, follow=True
        )
    assert f"Request #{request.pk} approved." in page_text(response)
    request.refresh_from_db()
    assert (request.state, request.decided_by) == (RequestState.APPROVED, estate.analyst)
    exemptions = list(Exemption.objects.order_by("pk"))
    assert len(exemptions) == 2
    assert {e.resource_id for e in exemptions} == {
        first.assessment.resource_id,
        second.assessment.resource_id,
    }
    assert exemptions[0].expires_at == datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC)
    first.assessment.refresh_from_db()
    assert (first.assessment.status, first.assessment.reason) == ("not_applicable", "Exempted: Waiver")
    assert "Waiver until 2027-01-31" in page_text(lead.get("/my-items/"))
    assert [i.pk for i in items_shown(lead, "exempted")] == [first.pk, second.pk]
    # The item's history says who asked and who decided.
    history = page_text(lead.get(f"/items/{first.pk}/")).split("History")[-1]
    assert "exemption requested (Waiver until 2027-01-31" in history
    assert f"exemption request #{request.pk} approved" in history
    # The requester hears of it.
    assert [m.to for m in mail.outbox] == [["lin-lead@example.com"]]

    # A week before the expiry, the owner and the lead are told, once.
    mail.outbox.clear()
    with (
        time_machine.travel(datetime(2027, 1, 24, 9, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert follow_expiry() == {"warned": 1, "expired": 0}
        assert follow_expiry() == {"warned": 0, "expired": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["lin-lead@example.com", "lin-member@example.com"]
    assert "ends on 2027-01-31" in mail.outbox[0].subject
    # The last day holds; the day after, the items come back.
    with time_machine.travel(datetime(2027, 1, 31, 22, 0, tzinfo=UTC), tick=False):
        assert follow_expiry()["expired"] == 0
    with time_machine.travel(datetime(2027, 2, 1, 0, 30, tzinfo=UTC), tick=False):
        assert follow_expiry() == {"warned": 0, "expired": 1}
    request.refresh_from_db()
    assert request.state == RequestState.EXPIRED
    first.assessment.refresh_from_db()
    assert first.assessment.status == AssessmentStatus.UNHEALTHY
    assert not Exemption.objects.filter(ended_at__isnull=True).exists()


def items_shown(client: Client, status: str) -> list[Assignment]:
    html = client.get("/my-items/", {"status": status}).content.decode()
    return list(
        Assignment.objects.filter(pk__in=re.findall(r'name="item" value="(\d+)"', html)).order_by("pk")
    )


def test_risk_accepted_goes_through_a_request_and_the_item_reopens_at_the_expiry(estate: Estate):
    item = make_item(estate.linux, TODAY)
    # Setting it directly is refused, with the way to do it.
    with pytest.raises(UserError, match="Request an exemption"):
        update_item(user=estate.lin_lead, item=item, change=Change(status=AssignmentStatus.RISK_ACCEPTED))
    response = client_for(estate.lin_lead).post(
        "/items/bulk/", {"item": [str(item.pk)], "action": "status", "status": "risk_accepted"}, follow=True
    )
    assert "Nothing changed: Risk accepted is requested" in page_text(response)

    request = request_exemption(
        user=estate.lin_member,
        items=[item],
        ask=Ask("risk_accepted", "Compensating firewall rule", TODAY + timedelta(days=20)),
    )
    decide_request(user=estate.analyst, request=request, approve=True)
    item.refresh_from_db()
    assert item.status == AssignmentStatus.RISK_ACCEPTED
    # Still in the score: a risk accepted is not an exemption of the recommendation.
    item.assessment.refresh_from_db()
    assert item.assessment.status == AssessmentStatus.UNHEALTHY
    assert [i.pk for i in items_shown(client_for(estate.lin_lead), "risk_accepted")] == [item.pk]

    with time_machine.travel(NOW + timedelta(days=21), tick=False):
        assert follow_expiry()["expired"] == 1
    item.refresh_from_db()
    assert item.status == AssignmentStatus.OPEN
    note = item.comments.last()
    assert note is not None
    assert "expired on 2026-12-30: the item is open again" in note.text
    assert (
        AuditEvent.objects.filter(object_type="assignment", object_id=str(item.pk), action="status").count()
        == 2
    )


def test_nobody_approves_their_own_request_and_a_lead_decides_nothing(estate: Estate):
    item = make_item(estate.linux, TODAY)
    request = request_exemption(
        user=estate.analyst, items=[item], ask=Ask("mitigated", "WAF in front", UNTIL)
    )
    with pytest.raises(UserError, match="cannot decide your own request"):
        decide_request(user=estate.analyst, request=request, approve=True)
    lead = client_for(estate.lin_lead)
    assert lead.post(f"/exemption-requests/{request.pk}/decide/", {"decision": "approve"}).status_code == 403
    request.refresh_from_db()
    assert request.state == RequestState.PENDING
    assert not Exemption.objects.exists()


def test_a_rejection_needs_a_reason_and_changes_nothing(estate: Estate):
    item = make_item(estate.linux, TODAY)
    request = request_exemption(user=estate.lin_lead, items=[item], ask=Ask("waiver", "Legacy", UNTIL))
    analyst = client_for(estate.analyst)
    response = analyst.post(f"/exemption-requests/{request.pk}/decide/", {"decision": "reject"}, follow=True)
    assert "Nothing decided: say why the request is rejected." in page_text(response)
    analyst.post(f"/exemption-requests/{request.pk}/decide/", {"decision": "reject", "note": "Fix it"})
    request.refresh_from_db()
    assert (request.state, request.decision_note) == (RequestState.REJECTED, "Fix it")
    assert not Exemption.objects.exists()
    # Rejected: the item may be asked for again.
    again = request_exemption(user=estate.lin_lead, items=[item], ask=Ask("waiver", "Legacy, really", UNTIL))
    assert again.state == RequestState.PENDING


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"justification": " "}, "needs a justification"),
        ({"expires_on": ""}, "needs an expiry date"),
        ({"expires_on": "2026-12-09"}, "the expiry is in the past"),
        ({"expires_on": "2028-01-01"}, "at most a year ahead"),
        ({"expires_on": "31/01/2027"}, "must be a date"),
        ({"category": "forever"}, "choose the kind of exemption"),
    ],
)
def test_a_bad_request_says_why_and_makes_nothing(estate: Estate, fields: dict[str, str], message: str):
    item = make_item(estate.linux, TODAY)
    response = ask_by_page(client_for(estate.lin_lead), [item], **fields)
    assert "No request made:" in page_text(response)
    assert message in page_text(response)
    assert not ExemptionRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="exemption_request").exists()


def test_an_item_already_requested_or_closed_is_refused(estate: Estate):
    item, resolved = make_item(estate.linux, TODAY), make_item(estate.linux, TODAY, status="resolved")
    request_exemption(user=estate.lin_lead, items=[item], ask=Ask("waiver", "Legacy", UNTIL))
    with pytest.raises(UserError, match=f"already requested: #{item.pk} in request"):
        request_exemption(user=estate.lin_member, items=[item], ask=Ask("waiver", "Again", UNTIL))
    with pytest.raises(UserError, match="only open items are deferred"):
        request_exemption(user=estate.lin_member, items=[resolved], ask=Ask("waiver", "Done", UNTIL))
    assert ExemptionRequest.objects.count() == 1


def test_another_towers_items_and_requests_are_missing_ones(estate: Estate):
    windows_item = make_item(estate.windows, TODAY)
    request = request_exemption(user=estate.win_lead, items=[windows_item], ask=Ask("waiver", "Win", UNTIL))
    lead = client_for(estate.lin_lead)
    assert lead.get(f"/exemption-requests/{request.pk}/").status_code == 404
    assert lead.get("/exemption-requests/99999/").status_code == 404
    assert "Win" not in page_text(lead.get("/exemption-requests/"))
    other = page_text(ask_by_page(lead, [windows_item]))
    missing = page_text(
        lead.post(
            "/exemption-requests/new/",
            {"item": ["99999"], "category": "waiver", "justification": "x", "expires_on": "2027-01-31"},
            follow=True,
        )
    )
    assert "No request made: you cannot change 1 of the 1 selected items" in other
    assert other.replace(f"#{windows_item.pk}", "#N") == missing.replace("#99999", "#N")
    assert ExemptionRequest.objects.count() == 1
    # The other tower's lead sees its own.
    assert client_for(estate.win_lead).get(f"/exemption-requests/{request.pk}/").status_code == 200


def test_a_request_holds_one_teams_items(estate: Estate):
    linux_item, windows_item = make_item(estate.linux, TODAY), make_item(estate.windows, TODAY)
    with pytest.raises(UserError, match="the items of one team"):
        request_exemption(
            user=estate.analyst, items=[linux_item, windows_item], ask=Ask("waiver", "Both", UNTIL)
        )
    assert not ExemptionRequest.objects.exists()
