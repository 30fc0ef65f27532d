"""Every row an import writes, in a form two runs on different databases can compare: without ids and
without the clocks of the import.

A foreign key is replaced by the row it points to (in the same form), so two runs whose ids differ
compare equal when their rows do. Fields the import sets from the wall clock are left out; times that
come from the file (when the machine was scanned, when a finding was first seen) stay in.
"""

import json
from collections import Counter
from typing import Any

from django.db import models

from governance.models import Assignment
from posture.models import Resource, Subscription
from recommendations.models import (
    Assessment,
    Benchmark,
    Finding,
    MachineTally,
    Recommendation,
    Rule,
    RuleTally,
    Scan,
    ScanResult,
)
from scoring.models import Control

MODELS: tuple[type[models.Model], ...] = (
    Subscription,
    Resource,
    Recommendation,
    Assessment,
    Control,
    Benchmark,
    Rule,
    Scan,
    ScanResult,
    Finding,
    RuleTally,
    MachineTally,
    Assignment,
)
# Set from "now" by the import (auto_now and auto_now_add fields are left out without being named):
# when a recommendation was evaluated, and the governance item's detection and so its due date.
WALL_CLOCK = frozenset(
    {
        ("Assessment", "first_evaluated"),
        ("Assessment", "status_changed"),
        ("Assignment", "first_detected"),
        ("Assignment", "due_date"),
    }
)

Row = tuple[tuple[str, Any], ...]


def comparable_state(models_: tuple[type[models.Model], ...] = MODELS) -> dict[str, Counter[Row]]:
    """Each model's rows as a multiset of comparable tuples."""
    tables: dict[type[models.Model], dict[Any, dict[str, Any]]] = {}
    seen: dict[tuple[type[models.Model], Any], Row] = {}

    def table(model: type[models.Model]) -> dict[Any, dict[str, Any]]:
        if model not in tables:
            key = model._meta.pk.attname
            tables[model] = {row[key]: row for row in model._default_manager.values()}
        return tables[model]

    def comparable(model: type[models.Model], pk: Any) -> Row:
        if (model, pk) not in seen:
            seen[(model, pk)] = tuple(
                (field.name, value(field, table(model)[pk][field.attname]))
                for field in model._meta.concrete_fields
                if kept(model, field)
            )
        return seen[(model, pk)]

    def value(field: models.Field[Any, Any], raw: Any) -> Any:
        if field.is_relation and raw is not None:
            assert field.related_model is not None
            assert not isinstance(field.related_model, str)
            return comparable(field.related_model, raw)
        if isinstance(raw, dict | list):
            return json.dumps(raw, sort_keys=True)
        return raw

    return {model.__name__: Counter(comparable(model, pk) for pk in table(model)) for model in models_}


def kept(model: type[models.Model], field: models.Field[Any, Any]) -> bool:
    if field.primary_key and not field.is_relation:
        return False
    if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
        return False
    return (model.__name__, field.name) not in WALL_CLOCK


def differences(left: dict[str, Counter[Row]], right: dict[str, Counter[Row]]) -> str:
    """The models whose rows differ, with the fields that differ in one row of each side."""
    lines = []
    for name in sorted(set(left) | set(right)):
        only_left = left.get(name, Counter()) - right.get(name, Counter())
        only_right = right.get(name, Counter()) - left.get(name, Counter())
        if not only_left and not only_right:
            continue
        lines.append(f"{name}: {only_left.total()} rows only left, {only_right.total()} only right")
        if only_left and only_right:
            one, other = dict(next(iter(only_left))), dict(next(iter(only_right)))
            fields = [field for field in one if one[field] != other.get(field)]
            lines.append(f"  e.g. differing in {fields}")
    return "\n".join(lines)
