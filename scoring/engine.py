"""The score engine: counts resources per control with aggregate SQL, then applies scoring.formula.

A resource counts in a control when at least one counted (non-preview) recommendation of the control
is Healthy or Unhealthy on it; it is healthy in the control only when none of them is Unhealthy.
Not-applicable (including exempted) assessments count nowhere.

Across several subscriptions the engine uses Defender's management-group formula with each
subscription weighted by its number of counted resources (resources that count in at least one
control): a subscription with many machines weighs more than one with a single VM.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from posture.models import Cloud, Resource, Subscription
from posture.scope import ESTATE, Scope
from recommendations.models import Assessment, AssessmentStatus, Recommendation
from scoring import formula
from scoring.models import Control


@dataclass
class RecommendationScore:
    id: int
    key: str
    assessment_key: str | None
    name: str
    preview: bool
    counted: bool
    healthy: int = 0
    unhealthy: int = 0
    not_applicable: int = 0
    potential_increase: Decimal = formula.ZERO


@dataclass
class ControlScore:
    id: int
    name: str
    definition_max: int
    max: int = 0
    current: Decimal = formula.ZERO
    percentage: Decimal = formula.ZERO
    healthy: int = 0
    unhealthy: int = 0
    not_applicable: int = 0
    recommendations: list[RecommendationScore] = field(default_factory=list)


@dataclass
class SubscriptionScore:
    id: int
    name: str
    current: Decimal
    max: int
    percentage: Decimal
    weight: int
    # The scope's cloud ('' when unsaid) and native id (subscription GUID, AWS account, GCP project).
    cloud: str = ""
    native_id: str = ""

    @property
    def cloud_label(self) -> str:
        return str(Cloud(self.cloud).label) if self.cloud else ""


@dataclass
class ScoreReport:
    scope: Scope
    current: Decimal
    max: int
    percentage: Decimal
    controls: list[ControlScore]
    subscriptions: list[SubscriptionScore]


def compute_score(scope: Scope = ESTATE) -> ScoreReport:
    count_preview = bool(settings.POSTURE_COUNT_PREVIEW)
    per_control, fixable, weights = _per_resource_figures(scope, count_preview)
    touched = _resources_per_control(scope)
    rec_counts = _assessment_counts(scope)

    controls = list(Control.objects.prefetch_related("recommendations").order_by("position", "name"))
    subscriptions = _subscriptions(scope)
    sub_current: dict[int, Decimal] = defaultdict(lambda: formula.ZERO)
    sub_max: dict[int, int] = defaultdict(int)
    control_scores = []
    for control in controls:
        score = ControlScore(id=control.pk, name=control.name, definition_max=control.max_score)
        increases: dict[int, Decimal] = defaultdict(lambda: formula.ZERO)
        for sub_id, (healthy, unhealthy) in per_control.get(control.pk, {}).items():
            current = formula.control_current(control.max_score, healthy, unhealthy)
            maximum = formula.control_max(control.max_score, healthy, unhealthy)
            score.current += current
            score.max += maximum
            score.healthy += healthy
            score.unhealthy += unhealthy
            sub_current[sub_id] += current
            sub_max[sub_id] += maximum
            for rec_id, fixed in fixable.get((control.pk, sub_id), {}).items():
                increases[rec_id] += formula.potential_increase(control.max_score, healthy, unhealthy, fixed)
        score.not_applicable = touched.get(control.pk, 0) - score.healthy - score.unhealthy
        score.percentage = formula.percentage(score.current, score.max)
        for rec in sorted(control.recommendations.all(), key=lambda r: (r.preview, r.display_name)):
            counts = rec_counts.get(rec.pk, {})
            score.recommendations.append(
                RecommendationScore(
                    id=rec.pk,
                    key=rec.key,
                    assessment_key=rec.assessment_key,
                    name=rec.display_name,
                    preview=rec.preview,
                    counted=count_preview or not rec.preview,
                    healthy=counts.get(AssessmentStatus.HEALTHY, 0),
                    unhealthy=counts.get(AssessmentStatus.UNHEALTHY, 0),
                    not_applicable=counts.get(AssessmentStatus.NOT_APPLICABLE, 0),
                    potential_increase=increases[rec.pk],
                )
            )
        control_scores.append(score)

    sub_scores = [
        SubscriptionScore(
            id=sub.pk,
            name=sub.name,
            current=sub_current[sub.pk],
            max=sub_max[sub.pk],
            percentage=formula.percentage(sub_current[sub.pk], sub_max[sub.pk]),
            weight=weights.get(sub.pk, 0),
            cloud=sub.cloud,
            native_id=sub.external_id or "",
        )
        for sub in subscriptions
    ]
    current = sum((s.current for s in sub_scores), formula.ZERO)
    maximum = sum(s.max for s in sub_scores)
    if len(sub_scores) == 1 and not scope.is_estate:
        pct = formula.percentage(current, maximum)
    else:
        percent = formula.several_subscriptions_score((s.current, s.max, s.weight) for s in sub_scores)
        pct = formula.round_percentage(percent / 100)
    return ScoreReport(
        scope=scope,
        current=current,
        max=maximum,
        percentage=pct,
        controls=control_scores,
        subscriptions=sub_scores,
    )


def _subscriptions(scope: Scope) -> list[Subscription]:
    queryset = Subscription.objects.order_by("name")
    if scope.subscription_ids is not None:
        queryset = queryset.filter(pk__in=scope.subscription_ids)
    if scope.resources is not None:
        queryset = queryset.filter(resources__in=scope.resources).distinct()
    return list(queryset)


def _tables() -> dict[str, str]:
    quote = connection.ops.quote_name
    return {
        "assessment": quote(Assessment._meta.db_table),
        "membership": quote(Control.recommendations.through._meta.db_table),
        "recommendation": quote(Recommendation._meta.db_table),
        "resource": quote(Resource._meta.db_table),
    }


def _scope_sql(scope: Scope) -> tuple[str, list[object]]:
    sql, params = "", list[object]()
    if scope.subscription_ids is not None:
        if not scope.subscription_ids:
            return " AND 1 = 0", []
        marks = ", ".join(["%s"] * len(scope.subscription_ids))
        sql, params = f" AND res.subscription_id IN ({marks})", list[object](scope.subscription_ids)
    if scope.resources is not None:
        inner, inner_params = scope.resources.values("pk").query.sql_with_params()
        sql += f" AND res.id IN ({inner})"
        params += list(inner_params)
    return sql, params


def _per_resource_sql(scope: Scope, count_preview: bool) -> tuple[str, list[object]]:
    """One row per (control, subscription, counted resource): its unhealthy count and one culprit."""
    t = _tables()
    scope_sql, scope_params = _scope_sql(scope)
    preview_sql = "" if count_preview else " AND rec.preview = %s"
    preview_params: list[object] = [] if count_preview else [False]
    sql = f"""
        SELECT m.control_id AS control_id, res.subscription_id AS subscription_id,
               a.resource_id AS resource_id,
               SUM(CASE WHEN a.status = %s THEN 1 ELSE 0 END) AS n_bad,
               MAX(CASE WHEN a.status = %s THEN a.recommendation_id END) AS bad_rec
        FROM {t["assessment"]} a
        JOIN {t["membership"]} m ON m.recommendation_id = a.recommendation_id
        JOIN {t["recommendation"]} rec ON rec.id = a.recommendation_id
        JOIN {t["resource"]} res ON res.id = a.resource_id
        WHERE a.status IN (%s, %s)
          AND NOT (a.status = %s AND a.grace_until IS NOT NULL AND a.grace_until >= %s)
          {preview_sql}{scope_sql}
        GROUP BY m.control_id, res.subscription_id, a.resource_id
    """  # noqa: S608 - table names come from model metadata, values are parameters
    params: list[object] = [
        AssessmentStatus.UNHEALTHY.value,
        AssessmentStatus.UNHEALTHY.value,
        AssessmentStatus.HEALTHY.value,
        AssessmentStatus.UNHEALTHY.value,
        # An Unhealthy item in its governance grace period does not lower the score until it is due.
        AssessmentStatus.UNHEALTHY.value,
        timezone.localdate(),
        *preview_params,
        *scope_params,
    ]
    return sql, params


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[int, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(int(v) if v is not None else 0 for v in row) for row in cursor.fetchall()]


def _per_resource_figures(
    scope: Scope, count_preview: bool
) -> tuple[dict[int, dict[int, tuple[int, int]]], dict[tuple[int, int], dict[int, int]], dict[int, int]]:
    """From the counted resources, in one query (the rows per resource are computed once):
    - per control and subscription, (healthy, unhealthy) resources;
    - per control and subscription, the resources one recommendation alone keeps unhealthy (they turn
      healthy with it): the potential increase;
    - per subscription, its weight (distinct counted resources)."""
    inner, params = _per_resource_sql(scope, count_preview)
    rows = _fetch(
        f"""WITH r AS ({inner})
            SELECT 1, control_id, subscription_id, 0, COUNT(*), SUM(CASE WHEN n_bad > 0 THEN 1 ELSE 0 END)
            FROM r GROUP BY control_id, subscription_id
            UNION ALL
            SELECT 2, control_id, subscription_id, bad_rec, COUNT(*), 0
            FROM r WHERE n_bad = 1 GROUP BY control_id, subscription_id, bad_rec
            UNION ALL
            SELECT 3, 0, subscription_id, 0, COUNT(DISTINCT resource_id), 0
            FROM r GROUP BY subscription_id""",  # noqa: S608
        params,
    )
    per_control: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    fixable: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    weights: dict[int, int] = {}
    for kind, control_id, sub_id, rec_id, count, unhealthy in rows:
        if kind == 1:
            per_control[control_id][sub_id] = (count - unhealthy, unhealthy)
        elif kind == 2:
            fixable[(control_id, sub_id)][rec_id] = count
        else:
            weights[sub_id] = count
    return per_control, fixable, weights


def _resources_per_control(scope: Scope) -> dict[int, int]:
    """Distinct resources with any assessment in each control, counted or not."""
    t = _tables()
    scope_sql, scope_params = _scope_sql(scope)
    rows = _fetch(
        f"""SELECT m.control_id, COUNT(DISTINCT a.resource_id)
            FROM {t["assessment"]} a
            JOIN {t["membership"]} m ON m.recommendation_id = a.recommendation_id
            JOIN {t["resource"]} res ON res.id = a.resource_id
            WHERE 1 = 1{scope_sql}
            GROUP BY m.control_id""",  # noqa: S608
        scope_params,
    )
    return {row[0]: row[1] for row in rows}


def _assessment_counts(scope: Scope) -> dict[int, dict[str, int]]:
    queryset = Assessment.objects.all()
    if scope.subscription_ids is not None:
        queryset = queryset.filter(resource__subscription_id__in=scope.subscription_ids)
    if scope.resources is not None:
        queryset = queryset.filter(resource__in=scope.resources)
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for row in queryset.values("recommendation_id", "status").annotate(n=Count("id")):
        result[row["recommendation_id"]][row["status"]] = row["n"]
    return result
