"""The score document and its history: the estate or one subscription; a tower's members get no history."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from scoring.history import record_snapshot
from tests.api.conftest import Estate, token_client

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def two_snapshots(estate: Estate) -> None:
    with time_machine.travel(T0, tick=False):
        record_snapshot()
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        record_snapshot()


def test_the_score_is_the_scopes(estate: Estate, api: Client) -> None:
    assert api.get(reverse("api-score")).status_code == 200
    lead = token_client(estate.red.lead)
    assert lead.get(reverse("api-score"), {"subscription": "sub-blue"}).status_code == 404


def test_the_estates_history_oldest_first(two_snapshots: None, api: Client) -> None:
    window = {"after": T0.isoformat(), "before": (T0 + timedelta(days=2)).isoformat()}
    # The imports of the estate fixture took snapshots too, at the real time: the window leaves them out.
    points = api.get(reverse("api-score-history"), {"score": "true", **window}).json()["results"]
    assert [p["taken_at"][:10] for p in points] == ["2026-11-02", "2026-11-03"]
    assert {(p["subscription"], p["control"]) for p in points} == {(None, None)}


def test_one_subscriptions_history_by_control(estate: Estate, two_snapshots: None, api: Client) -> None:
    query = {"subscription": "sub-red", "score": "false"}
    points = api.get(reverse("api-score-history"), query).json()["results"]
    assert points
    assert {p["subscription"] for p in points} == {estate.red.subscription.pk}
    assert "Encrypt data at rest" in {p["control_name"] for p in points}
    assert None not in {p["control"] for p in points}
    query = {"ordering": "-taken_at", "page_size": "1", "before": (T0 + timedelta(days=2)).isoformat()}
    newest = api.get(reverse("api-score-history"), query).json()
    assert newest["results"][0]["taken_at"].startswith("2026-11-03")
    assert newest["next"] is not None


def test_a_tower_gets_no_history(estate: Estate, two_snapshots: None) -> None:
    lead = token_client(estate.red.lead)
    assert lead.get(reverse("api-score-history")).json()["results"] == []
    assert lead.get(reverse("api-score-history"), {"subscription": "sub-red"}).json()["results"] == []
