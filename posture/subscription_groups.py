"""Groups of subscriptions scored together, like management groups: the one way to change them (page,
admin and `manage.py scope_group`), audited."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from audit import trail
from posture.errors import UnknownSubscription, UserError
from posture.models import Subscription, SubscriptionGroup
from posture.scope import GROUP_PREFIX

NAME_MAX = SubscriptionGroup._meta.get_field("name").max_length or 200


def valid_group_name(name: str) -> str:
    """The name, stripped, or a UserError saying why it cannot name a group."""
    name = name.strip()
    if not name:
        raise UserError("a group needs a name")
    if len(name) > NAME_MAX:
        raise UserError(f"a group's name has at most {NAME_MAX} characters")
    if "\x00" in name:
        raise UserError("a group's name cannot contain a NUL character")
    # `?subscription=group:NAME` selects a subscription of that name or id before a group: refuse a
    # group nobody could select.
    shadow = GROUP_PREFIX + name
    if Subscription.objects.filter(Q(name=shadow) | Q(external_id__iexact=shadow)).exists():
        raise UserError(
            f"a subscription is named {shadow!r}, which would hide the group: choose another name"
        )
    return name


def find_subscriptions(values: Sequence[str]) -> list[Subscription]:
    """Subscriptions by name or cloud id (case-insensitive on the id), in one query; naming one that
    does not exist is an error that says which."""
    wanted = [value.strip() for value in values if value.strip()]
    if any("\x00" in value for value in wanted):
        raise UnknownSubscription("no subscription name holds a NUL character")
    found: list[Subscription] = list(
        Subscription.objects.annotate(id_key=Lower("external_id")).filter(
            Q(name__in=wanted) | Q(id_key__in=[value.lower() for value in wanted])
        )
    )
    names = {s.name for s in found}
    ids = {(s.external_id or "").lower() for s in found}
    missing = [value for value in wanted if value not in names and value.lower() not in ids]
    if missing:
        raise UnknownSubscription(f"no subscription named or with id {', '.join(map(repr, missing))}")
    return found


def subscriptions_by_pk(values: Sequence[str]) -> list[Subscription]:
    """Subscriptions by the primary keys a form posted; a stale or forged one is an error."""
    try:
        pks = {int(value) for value in values}
    except ValueError:
        raise UserError("choose subscriptions from the list") from None
    found = list(Subscription.objects.filter(pk__in=pks))
    if len(found) != len(pks):
        raise UserError("a chosen subscription no longer exists: reload the page")
    return found


def group_state(group: SubscriptionGroup) -> dict[str, Any]:
    """What the audit log keeps of a group: its name and its subscriptions' names."""
    return {"name": group.name, "subscriptions": sorted(group.subscriptions.values_list("name", flat=True))}


def record_change(
    *,
    actor: trail.Actor,
    group: SubscriptionGroup,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    ip: str | None = None,
) -> None:
    """One audit event for a group created (before None) or changed; none when nothing changed."""
    if before == after:
        return
    held = ", ".join(after["subscriptions"]) or "no subscriptions"
    summary = f"group {group.name} created: {held}" if before is None else f"group {group.name}: {held}"
    if before is not None and before["name"] != group.name:
        summary = f"group {before['name']} renamed {group.name}: {held}"
    trail.record(
        actor=actor,
        actor_name="" if actor else "manage.py",
        action=trail.SCOPE_GROUP,
        obj=group,
        summary=summary,
        before=before,
        after=after,
        ip=ip,
    )


@transaction.atomic
def create_group(
    *,
    actor: trail.Actor,
    name: str,
    subscriptions: Iterable[Subscription] = (),
    ip: str | None = None,
) -> SubscriptionGroup:
    name = valid_group_name(name)
    if SubscriptionGroup.objects.filter(name=name).exists():
        raise UserError(f"a group named {name!r} already exists")
    group = SubscriptionGroup.objects.create(name=name)
    group.subscriptions.set(list(subscriptions))
    record_change(actor=actor, group=group, before=None, after=group_state(group), ip=ip)
    return group


@transaction.atomic
def change_group(
    *,
    actor: trail.Actor,
    group: SubscriptionGroup,
    add: Iterable[Subscription] = (),
    remove: Iterable[Subscription] = (),
    ip: str | None = None,
) -> list[str]:
    """Adds and removes subscriptions (adding a member or removing a stranger changes nothing);
    returns the names the group then holds."""
    add, remove = list(add), list(remove)
    both = sorted({s.name for s in add} & {s.name for s in remove})
    if both:
        raise UserError(f"{', '.join(both)}: either add or remove, not both")
    before = group_state(group)
    group.subscriptions.add(*add)
    group.subscriptions.remove(*remove)
    after = group_state(group)
    record_change(actor=actor, group=group, before=before, after=after, ip=ip)
    return list(after["subscriptions"])


@transaction.atomic
def delete_groups(
    *, actor: trail.Actor, groups: QuerySet[SubscriptionGroup], ip: str | None = None
) -> list[str]:
    """Deletes the groups (their subscriptions stay); returns their names."""
    doomed = list(groups.prefetch_related("subscriptions"))
    trail.record_many(
        trail.event(
            actor=actor,
            actor_name="" if actor else "manage.py",
            action=trail.SCOPE_GROUP,
            obj=group,
            summary=f"group {group.name} deleted",
            before={"name": group.name, "subscriptions": sorted(s.name for s in group.subscriptions.all())},
            ip=ip,
        )
        for group in doomed
    )
    SubscriptionGroup.objects.filter(pk__in=[group.pk for group in doomed]).delete()
    return [group.name for group in doomed]


def delete_group(*, actor: trail.Actor, group: SubscriptionGroup, ip: str | None = None) -> None:
    delete_groups(actor=actor, groups=SubscriptionGroup.objects.filter(pk=group.pk), ip=ip)
