"""A snapshot of every row Posture stores, to prove that a rejected file changed nothing."""

from typing import Any

from posture.models import Resource, Subscription
from recommendations.models import Assessment, Recommendation
from scoring.models import Control


def database_state() -> dict[str, list[dict[str, Any]]]:
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Subscription, Resource, Recommendation, Assessment, Control)
    }
