"""What a user may see inside a route: everything, or only the tower's items and their resources.

Two decisions, each made here once: which governance items a user sees (item_condition: a tower's lead
or member the towers' items, every other role all of them), and which resources (those the seen items
are on, and the instances of a seen scale set). Every page, API answer and export reads items and
resources through them, so another tower's item is not there for a tower, whatever route shows it.
"""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet, Subquery

from governance.models import Assignment
from governance.roles import TOWER_ROLES, role_of, teams_of
from posture.errors import EmptyGroup
from posture.models import Resource
from posture.scope import Scope, narrowed, scope_for, unknown_scope, visible_subscriptions
from recommendations.models import TowerMachine

# Who reads: a user, or None for the command line (manage.py), which reads the whole estate.
Reader = User | AnonymousUser | None


def item_condition(user: Reader, path: str = "") -> Q | None:
    """The items a user may see, as a condition on the Assignment at `path` ("" for Assignment itself,
    "assignments__" from a Finding), or None for all of them: a tower's lead or member the towers'
    items, a user without a role none, other roles and the command line all."""
    if user is None:
        return None
    role = role_of(user)
    if role is None:
        return Q(**{f"{path}pk__in": []})
    if role in TOWER_ROLES:
        # A Subquery, not a QuerySet: a join's condition (FilteredRelation) takes it too.
        return Q(**{f"{path}team__in": Subquery(teams_of(user).order_by().values("pk"))})
    return None


def visible_assignments(user: Reader) -> QuerySet[Assignment]:
    """The items a user may see (item_condition)."""
    condition = item_condition(user)
    return Assignment.objects.all() if condition is None else Assignment.objects.filter(condition)


def visible_resources(user: User | AnonymousUser) -> QuerySet[Resource] | None:
    """The resources a user may see, or None for all of them: for a tower's lead or member, those their
    towers' items are on and the instances of such a scale set (its items roll its instances up), as
    the towers' summaries hold them (governance/towers.py keeps them current with the items)."""
    return _towers_resources(user_towers(user))


def _towers_resources(towers: tuple[int, ...] | None) -> QuerySet[Resource] | None:
    if towers is None:
        return None
    return Resource.objects.filter(
        pk__in=TowerMachine.objects.filter(tower_id__in=towers).values("resource_id")
    )


def user_towers(user: User | AnonymousUser) -> tuple[int, ...] | None:
    """The towers (team ids) a tower's lead or member sees, none for a user without a role, None for
    every other role (all resources)."""
    role = role_of(user)
    if role is None:
        return ()
    if role in TOWER_ROLES:
        # Once per request (the user object is the request's), as role_of: the route check, the scope
        # and the services all ask.
        cached: dict[int | None, tuple[int, ...]] = user.__dict__.setdefault("_posture_towers", {})
        if user.pk not in cached:
            cached[user.pk] = tuple(teams_of(user).order_by("pk").values_list("pk", flat=True))
        return cached[user.pk]
    return None


def restrict(scope: Scope, user: User | AnonymousUser) -> Scope:
    """The scope narrowed to what the user may see."""
    towers = user_towers(user)
    return narrowed(scope, _towers_resources(towers), towers)


def scope_for_user(subscription: str | None, user: User | AnonymousUser) -> Scope:
    """The scope a `?subscription=` value selects, narrowed to what the user may see. A subscription
    holding none of the user's resources is unknown to them, with the very message of a name that does
    not exist: guessing names tells nothing."""
    try:
        scope = restrict(scope_for(subscription), user)
    except EmptyGroup:
        # To a tower's members an empty group holds none of their machines: as unknown as any other.
        if visible_resources(user) is not None:
            raise unknown_scope(subscription or "") from None
        raise
    chosen = scope.subscription_ids
    if scope.is_restricted and chosen and not visible_subscriptions(scope).filter(pk__in=chosen).exists():
        raise unknown_scope(subscription or "")
    return scope
