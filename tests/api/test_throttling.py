"""Rate limits: POSTURE_API_USER_RATE per user (an agent: per enrollment token), read at each call."""

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from posture.agents import issue_token
from posture.models import Workspace
from tests.api.conftest import token_client
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@override_settings(POSTURE_API_USER_RATE="3/min")
def test_a_user_over_the_rate_gets_a_429_with_retry_after(analyst: User) -> None:
    client = token_client(analyst)
    codes = [client.get(reverse("api-resources")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get(reverse("api-controls"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@override_settings(POSTURE_API_USER_RATE="2/min")
def test_each_user_has_a_rate_of_their_own(analyst: User) -> None:
    first, second = token_client(analyst), token_client(make_user("other"))
    assert [first.get(reverse("api-resources")).status_code for _ in range(3)] == [200, 200, 429]
    assert second.get(reverse("api-resources")).status_code == 200


@override_settings(POSTURE_API_USER_RATE="1/min")
def test_sessions_are_counted_too(analyst: User) -> None:
    client = Client()
    client.force_login(analyst)
    assert [client.get(reverse("api-score")).status_code for _ in range(2)] == [200, 429]


@override_settings(POSTURE_API_USER_RATE="1/min")
def test_agents_are_counted_by_their_token(db: None) -> None:
    workspace = Workspace.objects.create(name="Main", workspace_id="ws-main")
    agent = Client(headers={"authorization": f"Bearer {issue_token(workspace=workspace).token}"})
    job_url = reverse("api-import", args=[1])
    assert agent.get(job_url).status_code == 404  # no such job of its own: counted, not refused
    assert agent.get(job_url).status_code == 429


@override_settings(POSTURE_API_ANON_RATE="2/min")
def test_guessing_keys_is_throttled_per_address(analyst: User) -> None:
    guesses = [
        Client().get(reverse("api-resources"), headers={"authorization": f"Token psa_guess{n}"}).status_code
        for n in range(3)
    ]
    assert guesses == [401, 401, 429]
    # A right key still works: only wrong ones are counted.
    assert token_client(analyst).get(reverse("api-resources")).status_code == 200


@override_settings(POSTURE_API_ANON_RATE="1/min")
def test_a_forged_forwarded_for_does_not_escape_the_count(db: None) -> None:
    codes = [
        Client().get(reverse("api-score"), headers={"authorization": "Token psa_x", "x-forwarded-for": ip})
        for ip in ("1.1.1.1", "2.2.2.2")
    ]
    assert [response.status_code for response in codes] == [401, 429]
