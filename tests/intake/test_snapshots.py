"""The score stage of the pipeline: one snapshot per import run, of the estate and the subscriptions the
run touched, each scope compared with its own last snapshot."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posture.models import Subscription
from scoring.history import record_snapshot
from scoring.models import ScorePoint
from tests.factories import make_resource, make_subscription
from tests.scans import scan_xccdf

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def estate() -> dict[str, Subscription]:
    production, staging = make_subscription("Production"), make_subscription("Staging")
    make_resource(production, name="web-1")
    make_resource(staging, name="stg-1")
    return {"Production": production, "Staging": staging}


def scopes_at(moment: datetime, estate: dict[str, Subscription]) -> set[str]:
    """The scopes stored at `moment`: "estate" or subscription names."""
    names = {sub.pk: name for name, sub in estate.items()}
    return {
        names[pk] if pk is not None else "estate"
        for pk in ScorePoint.objects.filter(taken_at=moment).values_list("subscription_id", flat=True)
    }


def test_an_import_run_snapshots_the_estate_and_only_the_subscriptions_it_touched(estate):
    with time_machine.travel(NOW, tick=False):
        assert record_snapshot() is True
    assert scopes_at(NOW, estate) == {"estate", "Production", "Staging"}
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        scan_xccdf("web-1", {"sshd_disable_root_login": "fail"}, when=NOW)
    assert scopes_at(NOW + timedelta(hours=1), estate) == {"estate", "Production"}


def test_each_scope_is_compared_with_its_own_last_snapshot_and_stored_at_least_daily(estate):
    with time_machine.travel(NOW, tick=False):
        record_snapshot()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        scan_xccdf("web-1", {"sshd_disable_root_login": "fail"}, when=NOW)
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        assert record_snapshot() is False
    # A day after Staging's last snapshot, less than a day after the estate's and Production's.
    later = NOW + timedelta(days=1, minutes=30)
    with time_machine.travel(later, tick=False):
        assert record_snapshot() is True
    assert scopes_at(later, estate) == {"Staging"}
