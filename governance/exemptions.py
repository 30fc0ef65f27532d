"""Exemptions: exempted items are Not applicable, "Exempted: <category>", and count nowhere in the score.

The evaluated status waits in the assessment (held_status / held_reason, kept current by the
evaluators) and comes back when the exemption ends, by hand or by expiry (a periodic task).
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from audit import trail
from governance.models import Exemption, ExemptionCategory
from posture.errors import UserError
from posture.models import Resource, Subscription
from recommendations.models import Assessment, AssessmentStatus, Recommendation

Person = User | AnonymousUser


def reason_of(category: str) -> str:
    return f"Exempted: {ExemptionCategory(category).label}"


def covered(exemption: Exemption) -> QuerySet[Assessment]:
    """The assessments an exemption covers."""
    queryset = Assessment.objects.filter(recommendation_id=exemption.recommendation_id)
    if exemption.resource_id:
        return queryset.filter(resource_id=exemption.resource_id)
    if exemption.subscription_id:
        queryset = queryset.filter(resource__subscription_id=exemption.subscription_id)
    if exemption.resource_group:
        queryset = queryset.filter(resource__resource_group__iexact=exemption.resource_group)
    return queryset


def active() -> QuerySet[Exemption]:
    now = timezone.now()
    return Exemption.objects.filter(ended_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def covers(exemption: Exemption, resource_id: int, subscription_id: int, resource_group: str) -> bool:
    """Whether an exemption covers an assessment of its recommendation on this resource: covered()
    for rows already read (apply_exemptions matches them to every exemption at once)."""
    if exemption.resource_id:
        return exemption.resource_id == resource_id
    if exemption.subscription_id and exemption.subscription_id != subscription_id:
        return False
    return not exemption.resource_group or exemption.resource_group.lower() == resource_group.lower()


def _hold(assessment: Assessment, category: str, now: datetime) -> None:
    """The evaluated status waits in held_status; the assessment shows Not applicable, exempted."""
    assessment.held_status, assessment.held_reason = assessment.status, assessment.reason
    if assessment.status != AssessmentStatus.NOT_APPLICABLE:
        assessment.status_changed = now
    assessment.status, assessment.reason = AssessmentStatus.NOT_APPLICABLE, reason_of(category)
    assessment.updated_at = now


def _save_held(changed: Sequence[Assessment]) -> None:
    Assessment.objects.bulk_update(
        changed,
        ["status", "reason", "held_status", "held_reason", "status_changed", "updated_at"],
        batch_size=500,
    )


def _exempt(queryset: QuerySet[Assessment], category: str) -> int:
    now = timezone.now()
    changed = list(queryset.filter(held_status=""))
    for assessment in changed:
        _hold(assessment, category, now)
    _save_held(changed)
    return len(changed)


def apply_exemptions(resource_ids: Iterable[int] | None = None) -> int:
    """Exempt what active exemptions cover and is not exempted yet (new assessments, new resources).

    Two reads however many exemptions there are (one query each made every import cost a query per
    exemption): the exemptions, then the assessments of their recommendations not exempted yet, each
    given to the first exemption covering it in active()'s order (the newest)."""
    by_recommendation: dict[int, list[Exemption]] = {}
    for exemption in active():
        by_recommendation.setdefault(exemption.recommendation_id, []).append(exemption)
    if not by_recommendation:
        return 0
    candidates = Assessment.objects.filter(
        held_status="", recommendation_id__in=list(by_recommendation)
    ).annotate(in_subscription=F("resource__subscription_id"), in_group=F("resource__resource_group"))
    if resource_ids is not None:
        candidates = candidates.filter(resource_id__in=list(resource_ids))
    now = timezone.now()
    changed = []
    for assessment in candidates:
        covering = next(
            (
                exemption
                for exemption in by_recommendation[assessment.recommendation_id]
                if covers(exemption, assessment.resource_id, assessment.in_subscription, assessment.in_group)
            ),
            None,
        )
        if covering is not None:
            _hold(assessment, covering.category, now)
            changed.append(assessment)
    _save_held(changed)
    return len(changed)


@transaction.atomic
def create_exemption(
    *,
    user: Person,
    recommendation: Recommendation,
    category: str,
    justification: str,
    expires_at: datetime | None = None,
    subscription: Subscription | None = None,
    resource_group: str = "",
    resource: Resource | None = None,
    ip: str | None = None,
) -> Exemption:
    if category not in ExemptionCategory.values:
        raise UserError(f"category {category!r} is not one of {', '.join(ExemptionCategory.values)}")
    if not justification.strip():
        raise UserError("an exemption needs a justification")
    if resource_group and subscription is None:
        raise UserError("a resource group is named within a subscription: choose the subscription too")
    if expires_at is not None and expires_at <= timezone.now():
        raise UserError("the expiry is in the past")
    exemption = Exemption.objects.create(
        recommendation=recommendation,
        category=category,
        justification=justification.strip(),
        expires_at=expires_at,
        subscription=resource.subscription if resource is not None else subscription,
        resource_group=resource_group.strip(),
        resource=resource,
        created_by=user if user.is_authenticated else None,
    )
    count = _exempt(covered(exemption), category)
    trail.record(
        actor=user,
        action=trail.EXEMPT,
        obj=exemption,
        summary=f"{exemption}: {exemption.scope_label}, {count} assessments exempted",
        after={
            "recommendation": recommendation.key,
            "scope": exemption.scope_label,
            "category": category,
            "justification": exemption.justification,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        ip=ip,
    )
    return exemption


@transaction.atomic
def end_exemption(
    exemption: Exemption, *, user: Person | None = None, why: str = "removed", ip: str | None = None
) -> int:
    """End an exemption: what it covered counts again, unless another active exemption covers it."""
    if exemption.ended_at is not None:
        return 0
    now = timezone.now()
    exemption.ended_at = now
    exemption.save(update_fields=["ended_at"])
    # What another active exemption of the recommendation covers stays exempted, under that one's
    # category: restoring it and exempting it again would move its status_changed for nothing.
    still_exempted: dict[int, str] = {}
    others = active().filter(recommendation_id=exemption.recommendation_id).exclude(pk=exemption.pk)
    for other in others.order_by("created_at", "pk"):
        for pk in covered(other).exclude(held_status="").values_list("pk", flat=True):
            still_exempted.setdefault(pk, reason_of(other.category))
    restored = []
    relabelled = []
    for assessment in covered(exemption).exclude(held_status=""):
        if assessment.pk in still_exempted:
            if assessment.reason != still_exempted[assessment.pk]:
                assessment.reason, assessment.updated_at = still_exempted[assessment.pk], now
                relabelled.append(assessment)
            continue
        if assessment.held_status != assessment.status:
            assessment.status_changed = now
        assessment.status, assessment.reason = assessment.held_status, assessment.held_reason
        assessment.held_status, assessment.held_reason = "", ""
        assessment.updated_at = now
        restored.append(assessment)
    Assessment.objects.bulk_update(
        restored,
        ["status", "reason", "held_status", "held_reason", "status_changed", "updated_at"],
        batch_size=500,
    )
    Assessment.objects.bulk_update(relabelled, ["reason", "updated_at"], batch_size=500)
    trail.record(
        actor=user,
        action=trail.EXEMPTION_END,
        obj=exemption,
        summary=f"{exemption} ended ({why}): {exemption.scope_label}",
        before={"ended_at": None},
        after={"ended_at": now.isoformat(), "why": why},
        ip=ip,
    )
    return len(restored)


def lapse_expired() -> int:
    """End every exemption whose expiry has passed (run by Celery beat); returns how many ended."""
    now = timezone.now()
    expired = list(Exemption.objects.filter(ended_at__isnull=True, expires_at__lte=now))
    for exemption in expired:
        end_exemption(exemption, why="expired")
    return len(expired)
