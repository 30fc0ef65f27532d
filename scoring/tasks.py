"""Celery tasks of the score."""

from celery import shared_task

from scoring import history


@shared_task(name="scoring.tasks.record_snapshot")
def record_snapshot() -> bool:
    """Store a score snapshot when the score changed, or daily (run hourly by beat)."""
    return history.record_snapshot()
