"""Property: every score stays in [0, max] and follows Defender's formula, whatever the estate.

Generated estates (subscriptions, resources of every kind, the nine recommendations of "Remediate
security configurations" healthy / unhealthy / not applicable / unassessed, preview ones counted or
not, grace periods, exemptions on a resource, a subscription or everywhere, and a recommendation of
two other controls) are scored by scoring.engine for the estate, each subscription, a group of
subscriptions and a tower; the pure functions of scoring.formula get arbitrary counts.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import LazySettings
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from governance.exemptions import create_exemption
from governance.models import Assignment, Team
from governance.roles import Role
from governance.scoping import restrict
from governance.towers import refresh_tower_summaries
from posture.models import ResourceKind
from posture.scope import ESTATE, Scope
from recommendations.models import Assessment, Recommendation
from scoring import formula
from scoring.engine import ScoreReport, compute_score
from scoring.models import Control
from tests.factories import make_assessment, make_recommendation, make_resource, make_subscription, make_user
from tests.properties.examples import CI, LONG, forgetting

pytestmark = pytest.mark.django_db

RSC = "Remediate security configurations"
# A recommendation of two controls (10 and 6 points) and a preview one of the 0-point control.
EXTRA = {
    "prop-mfa-updates": ("Enable MFA", "Apply system updates"),
    "prop-enhanced": ("Enable enhanced security features",),
}
STATUSES = ("healthy", "unhealthy", "not_applicable")
# Grace periods relative to today: ended yesterday (counts), ends today or later (does not count yet).
GRACE_DAYS = (None, -1, 0, 1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Plan:
    subscriptions: int
    # (subscription index, kind, os) per resource.
    resources: list[tuple[int, str, str]]
    # (resource index, recommendation key) -> (status, grace in days or None).
    assessments: dict[tuple[int, str], tuple[str, int | None]]
    # (recommendation key, ("resource", i) | ("subscription", i) | ("everywhere", 0)).
    exemptions: list[tuple[str, tuple[str, int]]]
    count_preview: bool
    extra_preview: bool
    # Resources the tower's team holds an item of.
    tower: frozenset[int]


# The nine recommendations of RSC in the catalog (test_the_nine_are_the_controls checks it).
NINE = (
    "agent-health-resolved",
    "arc-linux-agent-installed",
    "arc-windows-agent-installed",
    "k8s-apparmor-restricted",
    "k8s-policy-addon",
    "machine-config-vulns",
    "vm-agent-installed",
    "vmss-agent-installed",
    "vmss-config-vulns",
)
KEYS = (*NINE, *EXTRA)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    subscriptions = draw(st.integers(1, 3))
    resources = draw(
        st.lists(
            st.tuples(
                st.integers(0, subscriptions - 1),
                st.sampled_from(ResourceKind.values),
                st.sampled_from(["linux", "windows", ""]),
            ),
            max_size=8,
        )
    )
    assessments = draw(
        st.dictionaries(
            st.tuples(st.integers(0, max(len(resources) - 1, 0)), st.sampled_from(KEYS)),
            st.tuples(st.sampled_from(STATUSES), st.sampled_from(GRACE_DAYS)),
            max_size=30 if resources else 0,
        )
    )
    scopes = st.one_of(
        st.tuples(st.just("resource"), st.integers(0, max(len(resources) - 1, 0))),
        st.tuples(st.just("subscription"), st.integers(0, subscriptions - 1)),
        st.tuples(st.just("everywhere"), st.just(0)),
    )
    exemptions = draw(st.lists(st.tuples(st.sampled_from(KEYS), scopes), max_size=2 if resources else 0))
    tower = draw(st.frozensets(st.integers(0, max(len(resources) - 1, 0)), max_size=len(resources)))
    return Plan(
        subscriptions, resources, assessments, exemptions, draw(st.booleans()), draw(st.booleans()), tower
    )


def expected_counts(
    plan: Plan, preview: set[str], members: dict[str, set[str]]
) -> dict[tuple[str, int], tuple[int, int]]:
    """(control, subscription index) -> (healthy, unhealthy), from the engine's stated rule: a resource
    counts when a counted recommendation of the control is Healthy or Unhealthy on it (exempted ones
    are Not applicable; an Unhealthy one in its grace period is left out), healthy when none is
    Unhealthy."""
    exempted = {
        (index, key)
        for key, (kind, target) in plan.exemptions
        for index, (sub, _, _) in enumerate(plan.resources)
        if kind == "everywhere"
        or (kind == "resource" and target == index)
        or (kind == "subscription" and target == sub)
    }
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for index, (sub, _, _) in enumerate(plan.resources):
        for control, keys in members.items():
            seen = []
            for key in keys:
                if (index, key) not in plan.assessments or (key in preview and not plan.count_preview):
                    continue
                status, grace = plan.assessments[(index, key)]
                if (index, key) in exempted:
                    status = "not_applicable"
                if status == "unhealthy" and grace is not None and grace >= 0:
                    continue
                seen.append(status)
            if "unhealthy" in seen:
                counts[(control, sub)][1] += 1
            elif "healthy" in seen:
                counts[(control, sub)][0] += 1
    return {key: (h, u) for key, (h, u) in counts.items()}


def build(plan: Plan) -> tuple[list[int], list[int], Scope]:
    """The estate in the database; returns subscription ids, resource ids and the tower's scope."""
    for key, controls in EXTRA.items():
        rec = make_recommendation(key, preview=key == "prop-enhanced" and plan.extra_preview)
        for name in controls:
            Control.objects.get(name=name).recommendations.add(rec)
    subs = [make_subscription(f"prop-sub-{i}") for i in range(plan.subscriptions)]
    resources = [
        make_resource(subs[sub], name=f"prop-res-{i}", kind=kind, os=os)
        for i, (sub, kind, os) in enumerate(plan.resources)
    ]
    today = timezone.localdate()
    for (index, key), (status, grace) in plan.assessments.items():
        assessment = make_assessment(resources[index], key, status)
        if grace is not None:
            Assessment.objects.filter(pk=assessment.pk).update(grace_until=today + timedelta(days=grace))
    admin = make_user("prop-admin", role=Role.ADMIN)
    for key, (kind, target) in plan.exemptions:
        create_exemption(
            user=admin,
            recommendation=Recommendation.objects.get(key=key),
            category="waiver",
            justification="property test",
            subscription=subs[target] if kind == "subscription" else None,
            resource=resources[target] if kind == "resource" else None,
        )
    team = Team.objects.create(name="prop-tower")
    lead = make_user("prop-lead", role=Role.LEAD, team=team)
    for index in plan.tower:
        # A tower sees the resources it holds an item of; an item needs an assessment to hang on.
        assessment = Assessment.objects.filter(resource=resources[index]).first() or make_assessment(
            resources[index], "vm-agent-installed", "not_applicable"
        )
        Assignment.objects.update_or_create(
            assessment=assessment,
            finding=None,
            defaults={"team": team, "first_detected": timezone.now(), "due_date": today},
        )
    # Items made here, not by the governance services: the tower's summaries follow them as they would.
    refresh_tower_summaries([resources[index].pk for index in plan.tower])
    return [s.pk for s in subs], [r.pk for r in resources], restrict(ESTATE, lead)


def exact_current(definition_max: int, healthy: int, unhealthy: int) -> Decimal:
    """Defender's control score, written out here rather than taken from scoring.formula."""
    if healthy + unhealthy == 0:
        return Decimal(0).quantize(CENT)
    return (Decimal(definition_max) * healthy / (healthy + unhealthy)).quantize(CENT, rounding=ROUND_HALF_UP)


def assert_bounded(report: ScoreReport) -> None:
    for control in report.controls:
        assert 0 <= control.current <= control.max, control
        # One definition max per subscription where the control counts a resource.
        assert control.max % max(control.definition_max, 1) == 0, control
        assert 0 <= control.percentage <= 1, control
        assert min(control.healthy, control.unhealthy, control.not_applicable) >= 0, control
        for rec in control.recommendations:
            assert 0 <= rec.potential_increase <= control.max - control.current, rec
    assert 0 <= report.current <= report.max
    assert report.current == sum((c.current for c in report.controls), Decimal(0))
    assert report.max == sum(c.max for c in report.controls)
    assert 0 <= report.percentage <= 1
    for sub in report.subscriptions:
        assert 0 <= sub.current <= sub.max, sub
        assert 0 <= sub.percentage <= 1, sub


def check_estate(plan: Plan, settings: LazySettings) -> None:
    settings.POSTURE_COUNT_PREVIEW = plan.count_preview
    with forgetting():
        sub_ids, resource_ids, tower = build(plan)
        controls = Control.objects.prefetch_related("recommendations").all()
        members = {c.name: {r.key for r in c.recommendations.all()} for c in controls}
        preview = set(Recommendation.objects.filter(preview=True).values_list("key", flat=True))
        expected = expected_counts(plan, preview, members)

        estate = compute_score(ESTATE)
        assert_bounded(estate)
        per_sub = {}
        for index, sub_id in enumerate(sub_ids):
            report = compute_score(Scope(subscription_ids=(sub_id,), label=f"prop-sub-{index}"))
            assert_bounded(report)
            for control in report.controls:
                healthy, unhealthy = expected.get((control.name, index), (0, 0))
                assert (control.healthy, control.unhealthy) == (healthy, unhealthy), control.name
                assert control.current == exact_current(control.definition_max, healthy, unhealthy)
                assert control.max == (control.definition_max if healthy + unhealthy else 0)
                if control.max:
                    assert control.percentage == (control.current / control.max).quantize(
                        Decimal("0.0001"), rounding=ROUND_HALF_UP
                    )
            assert report.percentage == (
                (report.current / report.max).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                if report.max
                else 0
            )
            per_sub[index] = {c.name: c for c in report.controls}
        # The estate adds up its subscriptions, control by control.
        for control in estate.controls:
            parts = [per_sub[i][control.name] for i in per_sub]
            assert control.current == sum((p.current for p in parts), Decimal(0))
            assert (control.healthy, control.unhealthy) == (
                sum(p.healthy for p in parts),
                sum(p.unhealthy for p in parts),
            )
        group = compute_score(Scope(subscription_ids=tuple(sub_ids), label="prop group (group)"))
        assert_bounded(group)
        assert (group.current, group.max) == (estate.current, estate.max)

        report = compute_score(tower)
        assert_bounded(report)
        assert tower.resources is not None
        assert {resource_ids.index(pk) for pk in tower.resources.values_list("pk", flat=True)} == plan.tower
        tower_plan = Plan(
            plan.subscriptions,
            plan.resources,
            {k: v for k, v in plan.assessments.items() if k[0] in plan.tower},
            plan.exemptions,
            plan.count_preview,
            plan.extra_preview,
            plan.tower,
        )
        tower_expected = expected_counts(tower_plan, preview, members)
        for control in report.controls:
            counts = [tower_expected.get((control.name, i), (0, 0)) for i in range(plan.subscriptions)]
            assert control.healthy == sum(h for h, _ in counts), control.name
            assert control.unhealthy == sum(u for _, u in counts), control.name


def test_the_nine_are_the_controls() -> None:
    assert (
        tuple(Control.objects.get(name=RSC).recommendations.order_by("key").values_list("key", flat=True))
        == NINE
    )
    assert Recommendation.objects.filter(key__in=NINE, preview=True).count() == 4


@given(plan=plans())
@CI
def test_scores_stay_between_zero_and_max(plan: Plan, settings: LazySettings) -> None:
    check_estate(plan, settings)


@pytest.mark.long
@given(plan=plans())
@LONG
def test_scores_stay_between_zero_and_max_long(plan: Plan, settings: LazySettings) -> None:
    check_estate(plan, settings)


# The pure formula, over counts no estate of a test would reach.
counts = st.integers(0, 10**7)
maxima = st.integers(0, 100)


def check_formula(definition_max: int, healthy: int, unhealthy: int, fixed: int, weight: int) -> None:
    fixed = min(fixed, unhealthy)
    current = formula.control_current(definition_max, healthy, unhealthy)
    maximum = formula.control_max(definition_max, healthy, unhealthy)
    assert 0 <= current <= maximum <= definition_max
    assert current == exact_current(definition_max, healthy, unhealthy)
    assert 0 <= formula.percentage(current, maximum) <= 1
    increase = formula.potential_increase(definition_max, healthy, unhealthy, fixed)
    assert 0 <= increase <= maximum - current
    share = formula.subscription_total(current, maximum, weight)
    assert 0 <= share <= formula.effective_weight(weight)
    assert 0 <= formula.several_subscriptions_score([(current, maximum, weight)] * 3) <= 100


@given(definition_max=maxima, healthy=counts, unhealthy=counts, fixed=counts, weight=counts)
@example(definition_max=4, healthy=0, unhealthy=0, fixed=0, weight=0)
@example(definition_max=4, healthy=1, unhealthy=2, fixed=2, weight=0)  # 1.33 + 2.67 must not pass 4
@CI
def test_formula_stays_between_zero_and_max(definition_max, healthy, unhealthy, fixed, weight) -> None:
    check_formula(definition_max, healthy, unhealthy, fixed, weight)


@pytest.mark.long
@given(definition_max=maxima, healthy=counts, unhealthy=counts, fixed=counts, weight=counts)
@LONG
def test_formula_stays_between_zero_and_max_long(definition_max, healthy, unhealthy, fixed, weight) -> None:
    check_formula(definition_max, healthy, unhealthy, fixed, weight)


@given(
    subscriptions=st.lists(
        st.tuples(maxima, counts, counts, counts).map(
            lambda t: (formula.control_current(t[0], t[1], t[2]), formula.control_max(t[0], t[1], t[2]), t[3])
        ),
        max_size=20,
    )
)
@CI
def test_several_subscriptions_score_is_a_percentage(subscriptions: list[tuple[Decimal, int, int]]) -> None:
    assert 0 <= formula.several_subscriptions_score(subscriptions) <= 100
