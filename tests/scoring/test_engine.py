"""The score engine against the database: who counts where, and the vectors that need rows."""

from decimal import Decimal

import pytest

from posture.models import Subscription
from posture.scope import ESTATE, Scope
from recommendations.models import Recommendation
from scoring.engine import ControlScore, compute_score
from scoring.models import Control
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
)

pytestmark = pytest.mark.django_db

RSC = "Remediate security configurations"


def control_of(report, name: str) -> ControlScore:
    return next(c for c in report.controls if c.name == name)


def populate(subscription: Subscription, control: Control, healthy: int, unhealthy: int, na: int) -> None:
    """Give a control H healthy, U unhealthy and NA not-applicable resources of its own recommendation."""
    rec = make_recommendation()
    control.recommendations.add(rec)
    for status, number in (("healthy", healthy), ("unhealthy", unhealthy), ("not_applicable", na)):
        for _ in range(number):
            make_assessment(make_resource(subscription), rec, status)


REST_EXAMPLE = [
    ("Protect applications against DDoS attacks", 0, 0, 1),
    ("Enable MFA", 1, 0, 0),
    ("Implement security best practices", 7, 0, 1),
    ("Enable enhanced security features", 0, 1, 0),
    ("Enable auditing and logging", 1, 4, 0),
    ("Manage access and permissions", 1, 1, 0),
    (RSC, 0, 1, 0),
    ("Enable endpoint protection", 0, 1, 0),
    ("Apply system updates", 0, 1, 0),
    ("Encrypt data in transit", 5, 1, 0),
    ("Restrict unauthorized network access", 1, 0, 0),
    ("Enable encryption at rest", 1, 0, 0),
]


def test_rest_example_subscription_scores_23_53_of_39():
    sub = make_subscription("example")
    for name, h, u, na in REST_EXAMPLE:
        populate(sub, Control.objects.get(name=name), h, u, na)
    report = compute_score(Scope(subscription_ids=(sub.pk,), label="example"))
    assert (report.current, report.max, report.percentage) == (Decimal("23.53"), 39, Decimal("0.6033"))
    transit = control_of(report, "Encrypt data in transit")
    assert (transit.current, transit.percentage) == (Decimal("3.33"), Decimal("0.8325"))
    ddos = control_of(report, "Protect applications against DDoS attacks")
    assert (ddos.max, ddos.current, ddos.not_applicable) == (0, Decimal(0), 1)
    practices = control_of(report, "Implement security best practices")
    assert (practices.max, practices.current, practices.healthy) == (0, Decimal(0), 7)


def test_estate_weights_subscriptions_by_counted_resources():
    sub = make_subscription("example")
    for name, h, u, na in REST_EXAMPLE:
        populate(sub, Control.objects.get(name=name), h, u, na)
    make_subscription("empty")
    report = compute_score(ESTATE)
    weights = {s.name: s.weight for s in report.subscriptions}
    # 27 resources count in some control (the not-applicable ones do not); the empty one weighs 0 (as 1).
    assert weights == {"example": 27, "empty": 0}
    # round(27 x 23.53 / 39, 2) = 16.29; 16.29 / (27 + 1) = 58.18 %.
    assert report.percentage == Decimal("0.5818")
    assert (report.current, report.max) == (Decimal("23.53"), 39)


def test_vector_1_potential_increase():
    sub = make_subscription()
    control = make_control("Six points", 6, [])
    populate(sub, control, 4, 74, 0)
    score = control_of(compute_score(ESTATE), "Six points")
    assert (score.current, score.percentage) == (Decimal("0.31"), Decimal("0.0517"))
    assert score.recommendations[0].potential_increase == Decimal("5.69")


def test_vector_9_each_vm_is_worth_two_points_of_six():
    rec = make_recommendation()
    make_control("Six points", 6, [rec])
    vms = [make_resource() for _ in range(3)]
    for vm in vms:
        make_assessment(vm, rec, "healthy")
    assert control_of(compute_score(), "Six points").current == Decimal(6)
    vms[0].assessments.update(status="unhealthy")
    assert control_of(compute_score(), "Six points").current == Decimal(4)


def test_vector_11_a_not_applicable_resource_leaves_the_denominator():
    # Exemptions (a later feature) turn the assessment Not applicable; the score must then be 4.00.
    rec = make_recommendation()
    make_control("Four points", 4, [rec])
    for _ in range(3):
        make_assessment(make_resource(), rec, "healthy")
    exempted = make_assessment(make_resource(), rec, "unhealthy")
    assert control_of(compute_score(), "Four points").current == Decimal(3)
    exempted.status = "not_applicable"
    exempted.reason = "Exempted: Waiver"
    exempted.save()
    score = control_of(compute_score(), "Four points")
    assert (score.current, score.healthy, score.unhealthy, score.not_applicable) == (Decimal(4), 3, 0, 1)


def test_vector_12_failing_only_a_preview_recommendation_is_healthy(settings):
    vm = make_resource()
    make_assessment(vm, "vm-agent-installed", "healthy")
    cluster = make_resource(kind="k8s_cluster", os="")
    make_assessment(cluster, "k8s-policy-addon", "unhealthy")
    make_assessment(vm, "arc-linux-agent-installed", "unhealthy")  # preview, ignored
    score = control_of(compute_score(), RSC)
    assert (score.healthy, score.unhealthy, score.not_applicable) == (1, 0, 1)
    assert score.current == Decimal(4)
    preview = next(r for r in score.recommendations if r.key == "k8s-policy-addon")
    assert preview.unhealthy == 1
    assert preview.potential_increase == 0
    assert not preview.counted

    settings.POSTURE_COUNT_PREVIEW = True
    counted = control_of(compute_score(), RSC)
    assert (counted.healthy, counted.unhealthy) == (0, 2)


def test_vector_13_failing_one_and_passing_another_is_unhealthy():
    vm = make_resource()
    make_assessment(vm, "vm-agent-installed", "healthy")
    make_assessment(vm, "machine-config-vulns", "unhealthy")
    score = control_of(compute_score(), RSC)
    assert (score.healthy, score.unhealthy, score.current) == (0, 1, Decimal(0))
    fix = next(r for r in score.recommendations if r.key == "machine-config-vulns")
    assert fix.potential_increase == Decimal(4)


def test_vector_14_disabled_by_policy_is_excluded():
    vm = make_resource()
    make_assessment(vm, "vm-agent-installed", "healthy")
    off = make_resource()
    make_assessment(off, "vm-agent-installed", "not_applicable", cause="OffByPolicy")
    score = control_of(compute_score(), RSC)
    assert (score.healthy, score.unhealthy, score.not_applicable, score.current) == (1, 0, 1, Decimal(4))


def test_potential_increase_only_counts_resources_one_fix_makes_healthy():
    both = make_resource()
    make_assessment(both, "vm-agent-installed", "unhealthy")
    make_assessment(both, "machine-config-vulns", "unhealthy")
    only_config = make_resource()
    make_assessment(only_config, "machine-config-vulns", "unhealthy")
    good = make_resource()
    make_assessment(good, "machine-config-vulns", "healthy")
    score = control_of(compute_score(), RSC)
    assert score.current == Decimal("1.33")
    increases = {r.key: r.potential_increase for r in score.recommendations}
    # Fixing configuration heals only_config (2 of 3 healthy: 2.67); fixing the agent heals nobody.
    assert increases["machine-config-vulns"] == Decimal("1.34")
    assert increases["vm-agent-installed"] == Decimal(0)


def test_scope_of_one_subscription_ignores_the_others():
    mine, other = make_subscription("mine"), make_subscription("other")
    make_assessment(make_resource(mine), "vm-agent-installed", "healthy")
    make_assessment(make_resource(other), "vm-agent-installed", "unhealthy")
    report = compute_score(Scope(subscription_ids=(mine.pk,), label="mine"))
    assert (report.current, report.max, report.percentage) == (Decimal(4), 4, Decimal(1))
    assert [s.name for s in report.subscriptions] == ["mine"]
    estate = compute_score()
    # Each weighs 1: (4 + 0) / 2 = 50 %.
    assert estate.percentage == Decimal("0.5")


def test_empty_estate_scores_zero():
    report = compute_score()
    assert (report.current, report.max, report.percentage) == (Decimal(0), 0, Decimal(0))
    assert len(report.controls) == Control.objects.count() == 15
    assert Recommendation.objects.filter(controls__name=RSC).count() == 9
