"""What a user may see inside a route: everything, or only the tower's items and their resources."""

from dataclasses import replace

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from governance.models import Assignment
from governance.roles import TOWER_ROLES, role_of, teams_of
from posture.models import Resource
from scoring.engine import Scope


def visible_assignments(user: User | AnonymousUser) -> QuerySet[Assignment]:
    """The items a user may see: a tower's members their towers' items, other roles all of them."""
    role = role_of(user)
    if role is None:
        return Assignment.objects.none()
    if role in TOWER_ROLES:
        return Assignment.objects.filter(team__in=teams_of(user))
    return Assignment.objects.all()


def visible_resources(user: User | AnonymousUser) -> QuerySet[Resource] | None:
    """The resources a user may see, or None for all of them."""
    role = role_of(user)
    if role is None:
        return Resource.objects.none()
    if role in TOWER_ROLES:
        return Resource.objects.filter(pk__in=visible_assignments(user).values("assessment__resource_id"))
    return None


def restrict(scope: Scope, user: User | AnonymousUser) -> Scope:
    """The scope narrowed to what the user may see."""
    resources = visible_resources(user)
    if resources is None:
        return scope
    return replace(scope, resources=resources)
