"""What a page, an API call, a command or the score engine looks at: the scope. Its type, how a
`?subscription=` / `--subscription` value selects one, and how it narrows to the resources a user may
see (governance/scoping.py says which those are for a tower's members: the value is passed down)."""

from dataclasses import dataclass, replace

from django.db.models import Q, QuerySet

from posture.errors import EmptyGroup, UnknownSubscription
from posture.models import Cloud, Resource, Subscription, SubscriptionGroup


@dataclass(frozen=True)
class Scope:
    """What to look at: the whole estate (subscription_ids None) or some subscriptions; for a tower's
    members, only the resources of the tower's items (`resources`, a queryset of Resource)."""

    subscription_ids: tuple[int, ...] | None = None
    label: str | None = None
    resources: "QuerySet[Resource] | None" = None
    # The `?subscription=` value that selects this scope when the label is not it (`group:<name>`).
    parameter: str | None = None
    # For a tower's members, the towers (teams, by id) whose machines `resources` are: the towers'
    # summaries answer for them (recommendations/models/tallies.py).
    towers: tuple[int, ...] | None = None

    @property
    def is_estate(self) -> bool:
        return self.subscription_ids is None

    @property
    def is_restricted(self) -> bool:
        """Whether some resources are hidden: summary tables kept per subscription cannot answer."""
        return self.resources is not None

    @property
    def tower(self) -> int | None:
        """The one tower whose summaries answer for this scope (None: the estate's tallies answer, or,
        for a user of several towers, whose machines may be in two of them, the findings themselves)."""
        return self.towers[0] if self.towers is not None and len(self.towers) == 1 else None


ESTATE = Scope()

# `?subscription=aws:<account id>` selects an account by its cloud and native id (likewise gcp:, azure:).
CLOUD_PREFIXES = tuple(c.value for c in Cloud if c.value)
# `?subscription=group:<name>` selects a group of subscriptions; a subscription literally named so wins.
GROUP_PREFIX = "group:"


def find_subscription(name_or_id: str) -> Subscription:
    """A subscription, account or project by its name, its native id (case-insensitive), or its native
    id with its cloud (`aws:123456789012`, `gcp:my-project`, `azure:<guid>`); a name wins."""
    value = name_or_id.strip()
    if "\x00" in value:
        # No name holds a NUL, and PostgreSQL refuses to compare text with one.
        raise unknown_scope(value)
    found = Subscription.objects.filter(Q(name=value) | Q(external_id__iexact=value)).first()
    cloud, _, native_id = value.partition(":")
    if found is None and native_id and cloud.lower() in CLOUD_PREFIXES:
        found = Subscription.objects.filter(
            cloud=cloud.lower(), external_id__iexact=native_id.strip()
        ).first()
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


def narrowed(
    scope: Scope, resources: QuerySet[Resource] | None, towers: tuple[int, ...] | None = None
) -> Scope:
    """The scope narrowed to the resources a user may see (None: all of them), those of `towers`."""
    if resources is None:
        return scope
    return replace(scope, resources=resources, towers=towers)


def only_visible(resources: QuerySet[Resource], scope: Scope) -> QuerySet[Resource]:
    """The resources of the queryset the scope's user may see, whatever their subscription."""
    if scope.resources is None:
        return resources
    return resources.filter(pk__in=scope.resources.values("pk"))


def visible_subscriptions(scope: Scope) -> QuerySet[Subscription]:
    """The subscriptions the scope's user may choose: those holding a resource they see."""
    subscriptions = Subscription.objects.all()
    if scope.resources is None:
        return subscriptions
    return subscriptions.filter(pk__in=scope.resources.values("subscription_id"))
