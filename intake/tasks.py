"""Celery tasks of the import pipeline: import jobs, sending again the ones a dead worker left, and the
score snapshot agents' changes wait for.

The import tasks' registered names are the ones they had in `posture.tasks`: queued messages, beat's
schedule and workers of another version keep finding them.
"""

from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

from intake import snapshots
from intake.jobs import requeue_abandoned_jobs, run_import_job


@shared_task(
    name="posture.tasks.run_import",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=3,
)
def run_import(job_id: int) -> str:
    """Import one uploaded file (retried when the database connection drops)."""
    return run_import_job(job_id)


@shared_task(name="posture.tasks.requeue_abandoned_imports")
def requeue_abandoned_imports() -> list[int]:
    """Send again the imports a dead worker left running (by beat, and by each worker as it starts)."""
    return requeue_abandoned_jobs(enqueue=run_import.delay)


@worker_ready.connect
def requeue_abandoned_imports_on_start(**_: Any) -> None:
    # A worker restarted after a crash finds its own abandoned imports without waiting for beat.
    requeue_abandoned_imports.delay()


@shared_task(name="intake.tasks.take_waiting_snapshots")
def take_waiting_snapshots() -> int:
    """The score snapshot agents' uploads and heartbeats wait for (by beat, every minute); returns how
    many import jobs got their score after."""
    return snapshots.take_waiting_snapshots()
