"""The score stage of the pipeline: one snapshot per import run, of the estate and the subscriptions the
run touched, each scope compared with its own last snapshot; agents' uploads and heartbeats snapshot at
most once a minute, and what they changed in between is taken by the next run or by beat's task."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from pytest_django.fixtures import Settings

from config.celery import app
from intake.agents import record_heartbeat
from intake.jobs import run_import_job, submit_upload
from intake.snapshots import take_waiting_snapshots
from posture.agents import Heartbeat, issue_token
from posture.models import EnrollmentToken, ImportJob, Resource, Subscription, Workspace
from scoring.document import score_document
from scoring.engine import compute_score
from scoring.history import record_snapshot
from scoring.models import ScorePoint, SnapshotClock
from tests.factories import make_resource, make_subscription
from tests.scans import scan_xccdf
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def estate() -> dict[str, Subscription]:
    production, staging = make_subscription("Production"), make_subscription("Staging")
    make_resource(production, name="web-1")
    make_resource(staging, name="stg-1")
    return {"Production": production, "Staging": staging}


@pytest.fixture
def token() -> EnrollmentToken:
    workspace = Workspace.objects.create(name="Production", workspace_id="ws-prod")
    return issue_token(workspace=workspace).record


def scopes_at(moment: datetime, estate: dict[str, Subscription]) -> set[str]:
    """The scopes stored at `moment`: "estate" or subscription names."""
    names = {sub.pk: name for name, sub in estate.items()}
    return {
        names[pk] if pk is not None else "estate"
        for pk in ScorePoint.objects.filter(taken_at=moment).values_list("subscription_id", flat=True)
    }


def beat(token: EnrollmentToken, hostname: str, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        record_heartbeat(
            token=token, heartbeat=Heartbeat(agent_version="1.0.0", os="linux", hostname=hostname)
        )


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


def test_heartbeats_snapshot_at_most_once_a_minute_and_beat_takes_what_waits(estate, token):
    beat(token, "web-1", NOW)
    assert scopes_at(NOW, estate) == {"estate", "Production"}
    beat(token, "stg-1", NOW + timedelta(seconds=10))
    assert scopes_at(NOW + timedelta(seconds=10), estate) == set()
    assert SnapshotClock.objects.filter(due_since__isnull=False).count() == 2  # the estate and Staging
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        take_waiting_snapshots()
    assert scopes_at(NOW + timedelta(seconds=30), estate) == set()
    with time_machine.travel(NOW + timedelta(seconds=70), tick=False):
        take_waiting_snapshots()
    assert scopes_at(NOW + timedelta(seconds=70), estate) == {"estate", "Staging"}
    assert not SnapshotClock.objects.filter(due_since__isnull=False).exists()
    # A heartbeat that changes nothing takes no snapshot and leaves nothing waiting.
    beat(token, "stg-1", NOW + timedelta(minutes=5))
    assert not SnapshotClock.objects.filter(due_since__isnull=False).exists()


def test_a_users_import_within_the_minute_is_snapshotted_at_once_with_what_waits(estate, token):
    beat(token, "web-1", NOW)
    beat(token, "stg-1", NOW + timedelta(seconds=10))
    with time_machine.travel(NOW + timedelta(seconds=20), tick=False):
        scan_xccdf("web-1", {"sshd_disable_root_login": "fail"}, when=NOW)
    assert scopes_at(NOW + timedelta(seconds=20), estate) == {"estate", "Production", "Staging"}
    assert not SnapshotClock.objects.filter(due_since__isnull=False).exists()


def agent_upload(token: EnrollmentToken, host: str, result: str, at: datetime) -> ImportJob:
    document = xccdf_result(host=host, results={"sshd_disable_root_login": result}, when=at)
    resource = Resource.objects.get(name=host).resource_id
    job = submit_upload(chunks=[document], name=f"{host}.xml", user=None, token=token, resource=resource).job
    with time_machine.travel(at, tick=False):
        assert run_import_job(job.pk) == "done"
    job.refresh_from_db()
    return job


def secure_score() -> dict[str, Any]:
    return dict(score_document(compute_score())["secure_score"])


def test_an_agents_upload_within_the_minute_gets_its_score_after_from_the_next_snapshot(
    estate, token, settings: Settings, tmp_path: Path
):
    settings.POSTURE_UPLOAD_DIR = str(tmp_path)
    first = agent_upload(token, "web-1", "fail", NOW)
    assert (first.score_before, first.score_after) == (
        {"current": 0, "max": 0, "percentage": 0},
        secure_score(),
    )
    second = agent_upload(token, "stg-1", "pass", NOW + timedelta(seconds=10))
    # Its score before is the last one stored; its score after waits for the next snapshot.
    assert (second.score_before, second.score_after) == (first.score_after, None)
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        assert take_waiting_snapshots() == 0
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        assert take_waiting_snapshots() == 1
    second.refresh_from_db()
    assert second.score_after == secure_score() != first.score_after
    assert scopes_at(NOW + timedelta(seconds=61), estate) == {"estate", "Staging"}


def test_beat_takes_the_waiting_snapshot_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["score-snapshot-waiting"]
    assert entry == {"task": "intake.tasks.take_waiting_snapshots", "schedule": 60}
    app.loader.import_default_modules()  # what a worker does as it starts: the apps' tasks modules
    assert app.tasks[str(entry["task"])].run.__module__ == "intake.tasks"
