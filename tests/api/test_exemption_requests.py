"""The exemption requests through the API, as on the pages: a tower asks for its items, an analyst other
than the requester decides; another tower's items and requests are missing ones; bad values are 400s."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import ExemptionRequest, RequestState
from recommendations.models import Assessment
from tests.api.conftest import Estate, token_client

pytestmark = pytest.mark.django_db


def ask(client: Client, chosen: list[int], **fields: Any) -> Any:
    body = {
        "items": chosen,
        "category": "waiver",
        "justification": "Legacy, replaced next quarter",
        "expires_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
        **fields,
    }
    return client.post(reverse("api-exemption-requests"), body, content_type="application/json")


def test_a_lead_asks_and_an_analyst_approves(estate: Estate, api: Client) -> None:
    lead = token_client(estate.red.lead)
    response = ask(lead, [estate.red.item.pk])
    assert response.status_code == 201, response.content
    made = response.json()
    assert (made["state"], made["items"], made["requested_by"]) == (
        "pending",
        [estate.red.item.pk],
        "red-lead",
    )
    # The lead decides nothing; the analyst approves.
    decide = reverse("api-exemption-request-decide", args=[made["id"]])
    assert lead.post(decide, {"decision": "approve"}, content_type="application/json").status_code == 403
    response = api.post(decide, {"decision": "approve"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved"
    assert len(response.json()["exemptions"]) == 1
    assessment = Assessment.objects.get(pk=estate.red.assessment.pk)
    assert (assessment.status, assessment.reason) == ("not_applicable", "Exempted: Waiver")
    listed = lead.get(reverse("api-exemption-requests"), {"state": "approved"}).json()["results"]
    assert [r["id"] for r in listed] == [made["id"]]


def test_another_towers_items_and_requests_are_missing_ones(estate: Estate) -> None:
    blue = token_client(estate.blue.lead)
    theirs = ask(blue, [estate.red.item.pk])
    missing = ask(blue, [9_999_999])
    assert theirs.status_code == missing.status_code == 400
    said, unknown = theirs.json()["detail"], missing.json()["detail"]
    assert said.replace(f"(#{estate.red.item.pk})", "(#N)") == unknown.replace("(#9999999)", "(#N)")
    made = ask(token_client(estate.red.lead), [estate.red.item.pk]).json()
    assert blue.get(reverse("api-exemption-request", args=[made["id"]])).status_code == 404
    assert blue.get(reverse("api-exemption-requests")).json()["results"] == []


def test_nobody_decides_their_own_request(estate: Estate, api: Client) -> None:
    made = ask(api, [estate.red.item.pk]).json()
    response = api.post(
        reverse("api-exemption-request-decide", args=[made["id"]]),
        {"decision": "approve"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "cannot decide your own request" in response.json()["detail"]
    assert ExemptionRequest.objects.get().state == RequestState.PENDING


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"expires_on": "2020-01-01"}, "the expiry is in the past"),
        ({"justification": " "}, "justification"),
        ({"category": "forever"}, "category"),
        ({"items": []}, "items"),
    ],
)
def test_bad_values_are_400s_and_make_nothing(estate: Estate, fields: dict[str, Any], words: str) -> None:
    response = ask(token_client(estate.red.lead), [estate.red.item.pk], **fields)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not ExemptionRequest.objects.exists()
