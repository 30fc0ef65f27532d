"""Defender's published secure-score vectors (shared/catalog/score-vectors.md), on the pure formula."""

from decimal import Decimal

import pytest

from scoring import formula


@pytest.mark.parametrize(
    ("vector", "maximum", "healthy", "unhealthy", "current", "percentage", "reported_max"),
    [
        (1, 6, 4, 74, "0.31", "0.0517", 6),
        (2, 1, 1, 4, "0.2", "0.2", 1),
        (3, 4, 5, 1, "3.33", "0.8325", 4),
        (4, 4, 1, 1, "2", "0.5", 4),
        (5, 4, 0, 1, "0", "0", 4),
        (6, 10, 1, 0, "10", "1", 10),
        (7, 2, 0, 0, "0", "0", 0),
        (8, 0, 7, 0, "0", "0", 0),
        (9, 6, 3, 0, "6", "1", 6),
    ],
)
def test_single_control_vectors(vector, maximum, healthy, unhealthy, current, percentage, reported_max):
    got_current = formula.control_current(maximum, healthy, unhealthy)
    got_max = formula.control_max(maximum, healthy, unhealthy)
    assert got_current == Decimal(current), f"vector {vector}"
    assert got_max == reported_max, f"vector {vector}"
    assert formula.percentage(got_current, got_max) == Decimal(percentage), f"vector {vector}"


def test_percentage_comes_from_the_rounded_current():
    # 4 x 5/6 = 3.3333...; Defender reports 3.33 and 3.33 / 4 = 0.8325, not 0.8333.
    assert formula.percentage(formula.control_current(4, 5, 1), 4) == Decimal("0.8325")


def test_potential_increase_of_the_documentation_example():
    assert formula.potential_increase(6, 4, 74, 74) == Decimal("5.69")


def test_each_healthy_vm_is_worth_its_share_of_the_control():
    # Vector 9: three VMs in a 6-point control are worth 2 points each.
    assert formula.control_current(6, 2, 1) == Decimal("4.00")


def test_rest_example_subscription_of_twelve_controls():
    controls = [  # (max, healthy, unhealthy) of the ListSecureScoreControls example
        (2, 0, 0),
        (10, 1, 0),
        (0, 7, 0),
        (0, 0, 1),
        (1, 1, 4),
        (4, 1, 1),
        (4, 0, 1),
        (2, 0, 1),
        (6, 0, 1),
        (4, 5, 1),
        (4, 1, 0),
        (4, 1, 0),
    ]
    current = sum((formula.control_current(m, h, u) for m, h, u in controls), Decimal(0))
    maximum = sum(formula.control_max(m, h, u) for m, h, u in controls)
    assert current == Decimal("23.53")
    assert maximum == 39
    assert formula.percentage(current, maximum) == Decimal("0.6033")


def test_several_subscriptions_vector_10():
    assert formula.subscription_total(Decimal("23.53"), 39, 67) == Decimal("40.42")
    assert formula.subscription_total(Decimal(0), 0, 0) == Decimal(0)
    assert formula.several_subscriptions_score([(Decimal("23.53"), 39, 67), (Decimal(0), 0, 0)]) == Decimal(
        "59.44"
    )


def test_no_subscription_scores_zero_rather_than_dividing_by_zero():
    assert formula.several_subscriptions_score([]) == Decimal(0)
    assert formula.percentage(Decimal(0), 0) == Decimal(0)
