"""Celery tasks of the estate."""

from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from posture.health import check_database
from posture.imports import run_import_job


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
