"""A snapshot of every row Posture stores, to prove that a rejected file changed nothing."""

from typing import Any

from django.db.models import Model

from posture.models import Resource, ResourceIdentifier, Subscription
from recommendations.models import (
    AppArmorViolation,
    Assessment,
    Benchmark,
    CloudFinding,
    ClusterSnapshot,
    Finding,
    Recommendation,
    Rule,
    Scan,
    ScanResult,
)
from scoring.models import Control

MODELS: tuple[type[Model], ...] = (
    Subscription,
    Resource,
    ResourceIdentifier,
    CloudFinding,
    Recommendation,
    Assessment,
    Control,
    Benchmark,
    Rule,
    Scan,
    ScanResult,
    Finding,
    ClusterSnapshot,
    AppArmorViolation,
)


def database_state() -> dict[str, list[dict[str, Any]]]:
    return {model.__name__: list(model._default_manager.order_by("pk").values()) for model in MODELS}
