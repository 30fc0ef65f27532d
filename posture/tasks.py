"""Celery tasks of the estate."""

from typing import Any

from celery import Task, shared_task

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
