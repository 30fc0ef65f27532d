"""Imports a dead worker left behind: found by their unheld row lock and queued again; the job's done
status commits with its rows, so no kill can import a file twice; the attempt bound counts attempts."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings, settings
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from intake import jobs
from intake.jobs import MAX_ATTEMPTS, abandoned_jobs, requeue_abandoned_jobs, run_import_job
from intake.pipeline import ImportRun
from posture.models import ImportJob, ImportStatus
from recommendations.models import Finding, Scan
from tests.scans import OSCAP

DEBIAN = OSCAP / "debian-anssi-high.arf.xml.xz"


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path, settings: LazySettings) -> None:
    settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")


def queued_job(name: str = DEBIAN.name) -> ImportJob:
    return jobs.submit_upload(chunks=[DEBIAN.read_bytes()], name=name, user=None).job


def job_with(status: str, resource: str) -> ImportJob:
    job = jobs.submit_upload(chunks=[DEBIAN.read_bytes()], name=DEBIAN.name, user=None, resource=resource).job
    ImportJob.objects.filter(pk=job.pk).update(status=status, attempts=1)
    return job


@pytest.fixture
def other_connection() -> Iterator[BaseDatabaseWrapper]:
    """A second database session, as a live worker's import would hold one."""
    other = connections.create_connection("default")
    other.set_autocommit(False)
    yield other
    other.rollback()
    other.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: the PostgreSQL pass")
@pytest.mark.django_db(transaction=True)
def test_only_running_jobs_no_live_import_holds_are_queued_again(
    other_connection: BaseDatabaseWrapper,
) -> None:
    abandoned = job_with(ImportStatus.RUNNING, "abandoned")
    live = job_with(ImportStatus.RUNNING, "live")
    job_with(ImportStatus.QUEUED, "queued")
    job_with(ImportStatus.DONE, "done")
    job_with(ImportStatus.FAILED, "failed")
    with other_connection.cursor() as cursor:
        cursor.execute("SELECT id FROM posture_importjob WHERE id = %s FOR UPDATE", [live.pk])

    queued: list[int] = []
    assert requeue_abandoned_jobs(enqueue=queued.append) == [abandoned.pk]
    assert queued == [abandoned.pk]
    other_connection.rollback()
    # Its worker died: the lock went with its connection.
    assert abandoned_jobs() == [abandoned.pk, live.pk]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite has no row locks")
@pytest.mark.django_db
def test_without_row_locks_no_running_job_is_taken_for_abandoned() -> None:
    job_with(ImportStatus.RUNNING, "running")
    assert requeue_abandoned_jobs(enqueue=lambda pk: pytest.fail("queued")) == []


@pytest.mark.django_db
def test_a_requeued_job_runs_as_a_new_attempt_and_imports_once() -> None:
    job = queued_job()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, attempts=1)
    assert run_import_job(job.pk) == ImportStatus.DONE
    job.refresh_from_db()
    assert job.attempts == 2
    assert job.counts["already_imported"] is False
    assert Scan.objects.count() == 1


@pytest.mark.django_db
def test_a_kill_after_the_rows_are_written_leaves_neither_rows_nor_a_done_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the rows committed first and the job's status after: a kill between the two left a
    running job whose next attempt found its file 'already imported' and reported nothing."""
    job = queued_job()

    def die(run: ImportRun) -> None:
        # The score snapshot after the import: the rows are written, the job is not done.
        raise SystemExit("worker killed")

    monkeypatch.setattr(ImportRun, "finish", die)
    with pytest.raises(SystemExit):
        run_import_job(job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ImportStatus.RUNNING, 1)
    assert not Scan.objects.exists()
    assert not Finding.objects.exists()

    assert run_import_job(job.pk) == ImportStatus.DONE
    job.refresh_from_db()
    assert job.counts["already_imported"] is False
    assert job.counts["findings_opened"] == 2
    assert Scan.objects.count() == 1


@pytest.mark.django_db
def test_the_attempt_bound_counts_the_attempts_made() -> None:
    job = queued_job()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # Each attempt is claimed, then its worker dies before the import commits.
        assert jobs._claim(job.pk) is not None
        assert ImportJob.objects.get(pk=job.pk).attempts == attempt
    assert run_import_job(job.pk) == ImportStatus.FAILED
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ImportStatus.FAILED, MAX_ATTEMPTS)
    assert not Scan.objects.exists()


def test_the_import_tasks_keep_their_names_for_beat_queued_messages_and_starting_workers() -> None:
    from celery.signals import worker_ready

    from config.celery import app
    from intake.tasks import requeue_abandoned_imports, requeue_abandoned_imports_on_start, run_import

    assert run_import.name == "posture.tasks.run_import"
    assert requeue_abandoned_imports.name == "posture.tasks.requeue_abandoned_imports"
    entry = settings.CELERY_BEAT_SCHEDULE["requeue-abandoned-imports"]
    assert app.tasks[str(entry["task"])].run.__module__ == "intake.tasks"
    assert app.tasks["posture.tasks.run_import"].run.__module__ == "intake.tasks"
    # A worker that starts sends the abandoned imports again at once.
    assert requeue_abandoned_imports_on_start in [ref() for _, ref in worker_ready.receivers]
