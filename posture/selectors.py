"""Reads of the estate that pages, API and commands share."""

from django.db.models import Q, QuerySet

from posture.errors import EmptyGroup, UnknownSubscription
from posture.models import Subscription, SubscriptionGroup
from scoring.engine import ESTATE, Scope

# `?subscription=group:<name>` selects a group of subscriptions; a subscription literally named so wins.
GROUP_PREFIX = "group:"


def find_subscription(name_or_id: str) -> Subscription:
    """A subscription by its name or its cloud id (case-insensitive on the id)."""
    value = name_or_id.strip()
    if "\x00" in value:
        # No name holds a NUL, and PostgreSQL refuses to compare text with one.
        raise unknown_scope(value)
    found = Subscription.objects.filter(Q(name=value) | Q(external_id__iexact=value)).first()
    if found is None:
        raise unknown_scope(value)
    return found


def unknown_scope(value: str) -> UnknownSubscription:
    """The error of a `?subscription=` value that selects nothing (or nothing the user may see)."""
    value = value.strip()
    if value.startswith(GROUP_PREFIX):
        return UnknownSubscription(f"no group named {value.removeprefix(GROUP_PREFIX)!r}")
    return UnknownSubscription(f"no subscription named or with id {value!r}")


def scope_for(subscription: str | None) -> Scope:
    """The scope a `--subscription` / `?subscription=` value selects: a subscription by name or id,
    `group:<name>` a group of subscriptions; empty means the whole estate."""
    if not subscription:
        return ESTATE
    value = subscription.strip()
    if value.startswith(GROUP_PREFIX):
        try:
            found = find_subscription(value)
        except UnknownSubscription:
            return group_scope(value.removeprefix(GROUP_PREFIX))
    else:
        found = find_subscription(value)
    return Scope(subscription_ids=(found.pk,), label=found.name)


def group_scope(name: str) -> Scope:
    """A group's subscriptions, scored together as Defender scores a management group."""
    if "\x00" in name:
        raise unknown_scope(GROUP_PREFIX + name)
    group = SubscriptionGroup.objects.filter(name=name).first()
    if group is None:
        raise unknown_scope(GROUP_PREFIX + name)
    ids = tuple(group.subscriptions.order_by("pk").values_list("pk", flat=True))
    if not ids:
        raise EmptyGroup(f"the group {name!r} holds no subscriptions yet: add some on the Subscriptions page")
    return Scope(subscription_ids=ids, label=f"{name} (group)", parameter=GROUP_PREFIX + name)


def scope_parameter(scope: Scope) -> str:
    """The `?subscription=` value that selects the scope again ('' for the whole estate)."""
    return scope.parameter or scope.label or ""


def groups_holding(subscriptions: QuerySet[Subscription]) -> QuerySet[SubscriptionGroup]:
    """The groups holding at least one of these subscriptions (the ones a user may choose)."""
    return SubscriptionGroup.objects.filter(subscriptions__in=subscriptions).distinct().order_by("name")
