"""Celery tasks of the recommendations."""

from celery import shared_task

from recommendations.evaluators.agents import evaluate_all_agents


@shared_task(name="recommendations.tasks.evaluate_agents")
def evaluate_agents() -> int:
    """Re-evaluate every machine's agent (run by beat): a machine that stopped reporting turns unhealthy."""
    return evaluate_all_agents()
