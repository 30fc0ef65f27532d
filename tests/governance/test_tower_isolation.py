"""A tower's lead sees the tower's items and their machines only, on every page, count, search and API
call; an analyst still sees the whole estate.

The estate: subscription Shared holds a-1 (tower A's item), b-1 (tower B's) and x-1 (nobody's);
subscription Bravo holds b-2 (tower B's). All are Linux VMs, scanned:
- a-1 fails ssh, passes dmesg; b-1 fails ssh and dmesg; b-2 fails bravo_only; x-1 passes ssh.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import Assignment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.models import Resource, Subscription
from posture.scope import ESTATE, Scope
from recommendations.catalog.baselines import PUBLISHED_BENCHMARK_IDS
from recommendations.models import Assessment, Recommendation, Rule
from recommendations.rule_selectors import RuleFilter, failed_rules, open_summary, passing_counts, rule_counts
from scoring.document import score_document
from scoring.engine import compute_score
from scoring.models import Control
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
    make_user,
)
from tests.scans import scan_xccdf

pytestmark = pytest.mark.django_db

SSH, DMESG, BRAVO_ONLY = "sshd_disable_root_login", "sysctl_kernel_dmesg_restrict", "bravo_only"
B_NAMES = ("b-1", "b-2", "Bravo", "bravo_only", "bravo only")


@dataclass
class Estate:
    shared: Subscription
    bravo: Subscription
    a1: Resource
    b1: Resource
    b2: Resource
    x1: Resource
    lead_a: User
    member_a: User
    lead_b: User
    analyst: User
    control: Control
    disk: Recommendation
    patch: Recommendation

    def rule(self, name: str) -> Rule:
        return Rule.objects.get(rule_id__endswith=name)

    @property
    def tower_a(self) -> Scope:
        """What tower A's people should see: the scope limited to its resources, computed directly."""
        return Scope(resources=Resource.objects.filter(pk=self.a1.pk))


def assign(assessment: Assessment, team: Team) -> Assignment:
    created = Assignment.objects.create(
        assessment=assessment, team=team, first_detected=timezone.now(), due_date=date(2026, 12, 31)
    )
    refresh_tower_summaries([created.assessment.resource_id])
    return created


@pytest.fixture(autouse=True)
def _only_scanned_rules() -> None:
    """The published baselines' rules (loaded with the catalog, never scanned here) are left out: the
    comparisons below name the scanned rules."""
    Rule.objects.filter(benchmark__benchmark_id__in=PUBLISHED_BENCHMARK_IDS).delete()


@pytest.fixture
def estate() -> Estate:
    shared, bravo = make_subscription("Shared"), make_subscription("Bravo")
    a1 = make_resource(shared, name="a-1")
    b1 = make_resource(shared, name="b-1")
    b2 = make_resource(bravo, name="b-2")
    x1 = make_resource(shared, name="x-1")
    disk, patch = make_recommendation("disk-encryption"), make_recommendation("system-updates")
    control = make_control("Protect the machines", 10, [disk, patch])
    tower_a, tower_b = Team.objects.create(name="Tower A"), Team.objects.create(name="Tower B")
    assign(make_assessment(a1, disk, "unhealthy"), tower_a)
    make_assessment(a1, patch, "healthy")
    assign(make_assessment(b1, disk, "unhealthy"), tower_b)
    assign(make_assessment(b2, patch, "unhealthy"), tower_b)
    make_assessment(b2, disk, "healthy")
    make_assessment(x1, disk, "healthy")
    scan_xccdf("a-1", {SSH: "fail", DMESG: "pass"})
    scan_xccdf("b-1", {SSH: "fail", DMESG: "fail"})
    scan_xccdf("b-2", {BRAVO_ONLY: "fail"})
    scan_xccdf("x-1", {SSH: "pass"})
    return Estate(
        shared=shared,
        bravo=bravo,
        a1=a1,
        b1=b1,
        b2=b2,
        x1=x1,
        lead_a=make_user("lead-a", role=Role.LEAD, team=tower_a),
        member_a=make_user("member-a", role=Role.MEMBER, team=tower_a),
        lead_b=make_user("lead-b", role=Role.LEAD, team=tower_b),
        analyst=make_user("analyst", role=Role.ANALYST),
        control=control,
        disk=disk,
        patch=patch,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user: User, url: str, status: int = 200) -> Any:
    response = client_for(user).get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


def machines_of(rule: Rule) -> int:
    """The `machines` failed_rules() annotates."""
    return int(rule.machines)  # type: ignore[attr-defined]


def assert_nothing_of_b(response: Any) -> None:
    html = response.content.decode()
    for name in B_NAMES:
        assert name not in html, f"{name!r} shows on {response.request['PATH_INFO']}"


# Score: dashboard, control page, API.


@pytest.mark.parametrize("who", ["lead_a", "member_a"])
def test_the_dashboard_of_tower_a_counts_its_machines_only(estate: Estate, who: str) -> None:
    response = page(getattr(estate, who), reverse("dashboard"))
    assert score_document(response.context["report"]) == score_document(compute_score(estate.tower_a))
    assert response.context["unhealthy_resources"] == 1
    mine = next(row.score for row in response.context["controls"] if row.score.id == estate.control.pk)
    assert (mine.healthy, mine.unhealthy) == (0, 1)
    assert_nothing_of_b(response)


def test_the_dashboard_of_an_analyst_counts_the_estate(estate: Estate) -> None:
    response = page(estate.analyst, reverse("dashboard"))
    assert score_document(response.context["report"]) == score_document(compute_score(ESTATE))
    assert response.context["unhealthy_resources"] == 3
    assert "Bravo" in response.content.decode()


def test_the_control_page_counts_tower_a_only(estate: Estate) -> None:
    response = page(estate.lead_a, reverse("control", args=[estate.control.pk]))
    rows = {row.score.key: row.score for row in response.context["recommendations"]}
    assert (rows["disk-encryption"].unhealthy, rows["disk-encryption"].healthy) == (1, 0)
    assert (rows["system-updates"].unhealthy, rows["system-updates"].healthy) == (0, 1)
    assert_nothing_of_b(response)
    analyst = page(estate.analyst, reverse("control", args=[estate.control.pk]))
    rows = {row.score.key: row.score for row in analyst.context["recommendations"]}
    assert (rows["disk-encryption"].unhealthy, rows["disk-encryption"].healthy) == (2, 2)


def test_the_score_api_gives_tower_a_its_own_score(estate: Estate) -> None:
    response = page(estate.lead_a, "/api/v1/score/")
    assert response.json() == score_document(compute_score(estate.tower_a))
    assert [sub["name"] for sub in response.json()["subscriptions"]] == ["Shared"]
    assert page(estate.analyst, "/api/v1/score/").json() == score_document(compute_score(ESTATE))


def test_another_towers_subscription_is_unknown_to_a_lead_like_a_name_that_does_not_exist(
    estate: Estate,
) -> None:
    for url in (reverse("dashboard"), reverse("resource-list"), reverse("os-config"), "/api/v1/score/"):
        page(estate.lead_a, f"{url}?subscription=Bravo", 404)
        page(estate.lead_a, f"{url}?subscription=Nowhere", 404)
        page(estate.lead_a, f"{url}?subscription=Shared", 200)
        page(estate.analyst, f"{url}?subscription=Bravo", 200)

    def error_page(name: str) -> str:
        html = page(estate.lead_a, f"{reverse('dashboard')}?subscription={name}", 404).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html).replace(name, "X")

    bravo = error_page("Bravo")
    assert bravo == error_page("Nowhere")
    assert "Shared" in bravo  # the scope selector offers the lead's own subscriptions


def test_the_subscription_selector_offers_only_subscriptions_with_visible_machines(estate: Estate) -> None:
    assert page(estate.lead_a, reverse("dashboard")).context["scope_choices"] == ["Shared"]
    assert page(estate.lead_b, reverse("dashboard")).context["scope_choices"] == ["Bravo", "Shared"]
    everything = list(Subscription.objects.order_by("name").values_list("name", flat=True))
    assert page(estate.analyst, reverse("dashboard")).context["scope_choices"] == everything


# Recommendations and resources.


def test_the_recommendation_tabs_and_counts_show_tower_a_only(estate: Estate) -> None:
    url = reverse("recommendation", args=["disk-encryption"])
    response = page(estate.lead_a, url)
    assert {key: n for key, _, n in response.context["tabs"]} == {
        "unhealthy": 1,
        "healthy": 0,
        "not_applicable": 0,
    }
    assert [a.resource.name for a in response.context["page_obj"]] == ["a-1"]
    for tab in ("healthy", "not_applicable"):
        response = page(estate.lead_a, f"{url}?tab={tab}")
        assert list(response.context["page_obj"]) == []
        assert "x-1" not in response.content.decode()
        assert_nothing_of_b(response)
    analyst = page(estate.analyst, url)
    assert {key: n for key, _, n in analyst.context["tabs"]}["unhealthy"] == 2


@pytest.mark.parametrize("query", ["", "?q=b-", "?q=1", "?state=unhealthy", "?kind=vm&os=linux&sort=-name"])
def test_the_resource_list_and_its_search_show_tower_a_only(estate: Estate, query: str) -> None:
    response = page(estate.lead_a, reverse("resource-list") + query)
    names = [resource.name for resource in response.context["page_obj"]]
    assert set(names) <= {"a-1"}
    assert_nothing_of_b(response)


def test_the_resource_list_search_finds_everything_for_an_analyst(estate: Estate) -> None:
    response = page(estate.analyst, reverse("resource-list") + "?q=b-")
    assert [resource.name for resource in response.context["page_obj"]] == ["b-1", "b-2"]


def test_another_towers_machine_is_not_found_even_by_a_guessed_id(estate: Estate) -> None:
    for resource in (estate.b1, estate.b2, estate.x1):
        for query in ("", "?subscription=Shared", "?state=open"):
            page(estate.lead_a, reverse("resource", args=[resource.pk]) + query, 404)
        page(estate.analyst, reverse("resource", args=[resource.pk]))
    page(estate.lead_a, reverse("resource", args=[999_999]), 404)
    response = page(estate.lead_a, reverse("resource", args=[estate.a1.pk]))
    assert_nothing_of_b(response)
    page(estate.lead_b, reverse("resource", args=[estate.a1.pk]), 404)


# OS configuration: overview, rule pages, baseline.


def test_the_os_configuration_overview_counts_tower_a_only(estate: Estate) -> None:
    response = page(estate.lead_a, reverse("os-config"))
    assert [
        (row.rule.rule_id.rsplit("_rule_", 1)[1], row.rule.machines) for row in response.context["rows"]
    ] == [(SSH, 1)]
    assert response.context["summary"].total.failed == 1
    assert response.context["summary"].total.machines == 1
    assert_nothing_of_b(response)
    for query in ("?q=bravo", "?severity=medium", "?os=linux&sort=machines"):
        assert_nothing_of_b(page(estate.lead_a, reverse("os-config") + query))
    analyst = page(estate.analyst, reverse("os-config"))
    assert analyst.context["summary"].total.failed == 4


def test_a_rule_page_lists_tower_a_machines_only(estate: Estate) -> None:
    for name in (SSH, DMESG, BRAVO_ONLY):
        url = reverse("rule", args=[estate.rule(name).pk])
        page(estate.lead_a, url)  # the catalog stays readable
        for tab in ("failing", "passing", "resolved", "not_evaluated", "not_applicable", "never_scanned"):
            shown = page(estate.lead_a, f"{url}?tab={tab}")
            names = {getattr(row, "resource", row).name for row in shown.context["page_obj"]}
            assert names <= {"a-1"}, (name, tab, names)
            html = shown.content.decode().replace("bravo_only", "").replace("bravo only", "")
            for other in ("b-1", "b-2", "x-1"):
                assert other not in html, (name, tab, other)
    ssh = page(estate.lead_a, reverse("rule", args=[estate.rule(SSH).pk])).context["counts"]
    assert (ssh["failing"], ssh["passing"], ssh["never_scanned"]) == (1, 0, 0)
    bravo = page(estate.lead_a, reverse("rule", args=[estate.rule(BRAVO_ONLY).pk])).context["counts"]
    assert (bravo["failing"], bravo["never_scanned"]) == (0, 1)
    analyst = page(estate.analyst, reverse("rule", args=[estate.rule(SSH).pk])).context["counts"]
    assert (analyst["failing"], analyst["passing"], analyst["never_scanned"]) == (2, 1, 1)


def test_the_baseline_counts_tower_a_machines_only(estate: Estate) -> None:
    def counts(user: User) -> dict[str, tuple[int, int, int]]:
        rows = page(user, reverse("baseline")).context["rows"]
        return {
            row.rule.rule_id.rsplit("_rule_", 1)[1]: (
                row.counts.failing,
                row.counts.passing,
                row.counts.never_scanned,
            )
            for row in rows
        }

    assert counts(estate.lead_a) == {SSH: (1, 0, 0), DMESG: (0, 1, 0), BRAVO_ONLY: (0, 0, 1)}
    assert counts(estate.analyst) == {SSH: (2, 1, 1), DMESG: (1, 1, 2), BRAVO_ONLY: (1, 0, 3)}


# The findings path gives the numbers of the tallies.


@pytest.mark.parametrize("subscription", [None, "Shared", "Bravo"])
def test_counting_from_findings_gives_the_numbers_of_the_tallies(
    estate: Estate, subscription: str | None
) -> None:
    ids = None if subscription is None else (Subscription.objects.get(name=subscription).pk,)
    tallies = Scope(subscription_ids=ids)
    findings = Scope(subscription_ids=ids, resources=Resource.objects.all())
    assert findings.is_restricted
    assert not tallies.is_restricted
    rules = list(Rule.objects.all())
    ids_of_rules = [rule.pk for rule in rules]

    def failed(scope: Scope) -> list[tuple[str, int]]:
        return [(rule.key, machines_of(rule)) for rule in failed_rules(RuleFilter(scope))]

    assert failed(findings) == failed(tallies)
    assert failed(tallies)  # something to compare
    assert passing_counts(ids_of_rules, findings) == passing_counts(ids_of_rules, tallies)
    assert rule_counts(rules, findings) == rule_counts(rules, tallies)
    assert open_summary(findings) == open_summary(tallies)


def test_the_lead_sees_the_numbers_of_a_scope_limited_to_the_towers_machines(estate: Estate) -> None:
    rules = list(Rule.objects.all())
    ids_of_rules = [rule.pk for rule in rules]
    overview = page(estate.lead_a, reverse("os-config")).context
    assert [(row.rule.key, row.rule.machines, row.passing) for row in overview["rows"]] == [
        (rule.key, machines_of(rule), passing_counts(ids_of_rules, estate.tower_a).get(rule.pk, 0))
        for rule in failed_rules(RuleFilter(estate.tower_a))
    ]
    assert overview["summary"] == open_summary(estate.tower_a)
    baseline = page(estate.lead_a, reverse("baseline")).context["rows"]
    assert {row.rule.pk: row.counts for row in baseline} == rule_counts(rules, estate.tower_a)
