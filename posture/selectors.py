"""Reads of the estate that pages, API and commands share."""

from django.db.models import Q

from posture.errors import UnknownSubscription
from posture.models import Subscription
from scoring.engine import ESTATE, Scope


def find_subscription(name_or_id: str) -> Subscription:
    """A subscription by its name or its cloud id (case-insensitive on the id)."""
    value = name_or_id.strip()
    if "\x00" in value:
        # No name holds a NUL, and PostgreSQL refuses to compare text with one.
        raise UnknownSubscription(f"no subscription named or with id {value!r}")
    found = Subscription.objects.filter(Q(name=value) | Q(external_id__iexact=value)).first()
    if found is None:
        raise UnknownSubscription(f"no subscription named or with id {value!r}")
    return found


def scope_for(subscription: str | None) -> Scope:
    """The scope a `--subscription` / `?subscription=` value selects; empty means the whole estate."""
    if not subscription:
        return ESTATE
    found = find_subscription(subscription)
    return Scope(subscription_ids=(found.pk,), label=found.name)
