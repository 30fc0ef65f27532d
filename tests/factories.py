"""Small factories for test data; the catalog itself is loaded by the post_migrate hook."""

from datetime import datetime
from itertools import count

from django.contrib.auth.models import User
from django.utils import timezone

from governance.models import Membership, Team
from governance.roles import Role, set_role
from posture.models import Resource, Subscription, resource_key
from recommendations.models import Assessment, Recommendation
from scoring.models import Control

_sequence = count(1)


def make_user(
    username: str = "analyst",
    *,
    password: str | None = None,
    role: Role | None = Role.ANALYST,
    team: Team | None = None,
    email: str = "",
) -> User:
    """A user with a role (and, for tower roles, a team; an admin also gets Django's staff flags); without a
    password it can only log in through client.force_login (no slow hashing)."""
    user = User(username=username, email=email)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    if role is not None:
        set_role(user, role)
    if team is not None:
        Membership.objects.create(team=team, user=user, is_lead=role == Role.LEAD)
    return user


def make_subscription(name: str | None = None, external_id: str | None = None) -> Subscription:
    return Subscription.objects.create(name=name or f"sub-{next(_sequence)}", external_id=external_id)


def make_resource(
    subscription: Subscription | None = None,
    *,
    name: str | None = None,
    kind: str = "vm",
    os: str = "linux",
    **fields: object,
) -> Resource:
    name = name or f"vm-{next(_sequence)}"
    resource_id = str(fields.pop("resource_id", f"/test/{name}"))
    return Resource.objects.create(
        resource_id=resource_id,
        resource_key=resource_key(resource_id),
        name=name,
        kind=kind,
        os=os,
        subscription=subscription or Subscription.objects.get_or_create(name="default")[0],
        **fields,
    )


def make_recommendation(key: str | None = None, *, preview: bool = False, **fields: object) -> Recommendation:
    key = key or f"test-rec-{next(_sequence)}"
    return Recommendation.objects.create(
        key=key,
        display_name=str(fields.pop("display_name", key)),
        severity=str(fields.pop("severity", "medium")),
        preview=preview,
        applies_to_kinds=fields.pop("applies_to_kinds", ["vm"]),
        catalog_version="test",
        **fields,
    )


def make_control(name: str, max_score: int, recommendations: list[Recommendation]) -> Control:
    control = Control.objects.create(name=name, max_score=max_score, catalog_version="test", position=100)
    control.recommendations.set(recommendations)
    return control


def make_assessment(
    resource: Resource,
    recommendation: Recommendation | str,
    status: str,
    *,
    reason: str = "",
    cause: str = "",
    status_changed: datetime | None = None,
) -> Assessment:
    if isinstance(recommendation, str):
        recommendation = Recommendation.objects.get(key=recommendation)
    now = timezone.now()
    return Assessment.objects.create(
        resource=resource,
        recommendation=recommendation,
        status=status,
        reason=reason,
        cause=cause,
        first_evaluated=now,
        status_changed=status_changed or now,
        source="test",
    )
