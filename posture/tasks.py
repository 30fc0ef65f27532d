"""Celery tasks of the estate."""

from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.db import InterfaceError, OperationalError

from intake.jobs import requeue_abandoned_jobs, run_import_job
from posture.health import check_database


@shared_task(bind=True)
def ping(self: Task[Any, Any]) -> dict[str, str]:
    """Prove a worker is consuming the queue and can reach the database it was configured with."""
    database = check_database()
    return {
        "hostname": str(self.request.hostname),
        "database_vendor": database.vendor,
        "database": database.name,
    }


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=3,
)
def run_import(job_id: int) -> str:
    """Import one uploaded file (retried when the database connection drops)."""
    return run_import_job(job_id)


@shared_task
def requeue_abandoned_imports() -> list[int]:
    """Send again the imports a dead worker left running (by beat, and by each worker as it starts)."""
    return requeue_abandoned_jobs(enqueue=run_import.delay)


@worker_ready.connect
def requeue_abandoned_imports_on_start(**_: Any) -> None:
    # A worker restarted after a crash finds its own abandoned imports without waiting for beat.
    requeue_abandoned_imports.delay()
