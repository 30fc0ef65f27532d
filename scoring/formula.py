"""Defender's classic secure-score arithmetic, and nothing else: the one place the formula lives.

Decimal with half-up rounding, because Defender's documented results (3.33 / 4 = 0.8325) are exact
decimal arithmetic, which binary floats do not reproduce at the fourth place.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")
ZERO = Decimal(0)


def round_current(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_percentage(value: Decimal) -> Decimal:
    return value.quantize(BASIS_POINT, rounding=ROUND_HALF_UP)


def control_max(definition_max: int, healthy: int, unhealthy: int) -> int:
    """A control with no counted resource reports max 0 and drops out of the subscription's maximum."""
    return definition_max if healthy + unhealthy > 0 else 0


def control_current(definition_max: int, healthy: int, unhealthy: int) -> Decimal:
    counted = healthy + unhealthy
    if counted == 0:
        return round_current(ZERO)
    return round_current(Decimal(definition_max) * healthy / counted)


def percentage(current: Decimal, maximum: int | Decimal) -> Decimal:
    """From the rounded current, as Defender does (3.33 / 4 is 0.8325, not 0.8333)."""
    if maximum == 0:
        return round_percentage(ZERO)
    return round_percentage(current / Decimal(maximum))


def potential_increase(definition_max: int, healthy: int, unhealthy: int, fixed: int) -> Decimal:
    """What the control gains if `fixed` of its unhealthy resources became healthy."""
    before = control_current(definition_max, healthy, unhealthy)
    after = control_current(definition_max, healthy + fixed, unhealthy - fixed)
    return after - before


def subscription_total(current: Decimal, maximum: int, weight: int) -> Decimal:
    """One subscription's share in the several-subscriptions (management-group) formula."""
    if maximum == 0:
        return round_current(ZERO)
    return round_current(Decimal(effective_weight(weight)) * current / maximum)


def effective_weight(weight: int) -> int:
    # Defender's Resource Graph sample counts a weight of 0 as 1 so that an empty subscription
    # still dilutes the score instead of dividing by zero.
    return weight if weight > 0 else 1


def several_subscriptions_score(subscriptions: Iterable[tuple[Decimal, int, int]]) -> Decimal:
    """Score in percent over (current, max, weight) triples: sum of totals over sum of weights."""
    totals = ZERO
    weights = 0
    for current, maximum, weight in subscriptions:
        totals += subscription_total(current, maximum, weight)
        weights += effective_weight(weight)
    if weights == 0:
        return round_current(ZERO)
    return round_current(totals / weights * 100)
