"""The evaluate stage: the recommendations Posture evaluates from evidence, for the resources the
persist stage says changed (OS configuration from findings, Kubernetes from dumps, agents)."""

from intake.persist.common import chunks
from intake.stages import Evaluations
from recommendations.evaluators.agents import evaluate_agents
from recommendations.evaluators.kubernetes import evaluate_kubernetes
from recommendations.evaluators.os_config import evaluate_os_configuration


def evaluate(evaluations: Evaluations) -> set[int]:
    """Evaluate the resources again; returns those whose assessments changed."""
    changed: set[int] = set()
    for ids in chunks(sorted(evaluations.os_configuration)):
        changed |= evaluate_os_configuration(ids)
    for ids in chunks(sorted(evaluations.kubernetes)):
        changed |= evaluate_kubernetes(ids)
    for ids in chunks(sorted(evaluations.agents)):
        changed |= evaluate_agents(ids)
    return changed
