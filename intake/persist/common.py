"""Shared pieces of the persist stage: chunking and subscription lookup."""

from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

from posture.models import Subscription

CHUNK = 1000
T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def find_or_create_subscriptions(
    names: set[str], counts: Counter[str], *, external: bool
) -> dict[str, Subscription]:
    """Subscriptions by name or external id, creating the missing ones (named by the value given)."""
    found: dict[str, Subscription] = {}
    for sub in Subscription.objects.filter(name__in=names):
        found[sub.name] = sub
    for sub in Subscription.objects.filter(external_id__in=names - found.keys()):
        found[sub.external_id or ""] = sub
    for name in sorted(names - found.keys()):
        found[name] = Subscription.objects.create(name=name, external_id=name if external else None)
        counts["subscriptions_created"] += 1
    return found
