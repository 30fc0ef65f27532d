"""The towers' summaries (the machines each tower sees, their rule tallies, their tiles) stay equal to a
direct computation from the items and the findings, through seeded random sequences of scans (late
ones too), hand assignments, reassignments, removed items and machines moving subscription or OS; and
the overview's numbers read from them equal the numbers counted from the findings, as before."""

import importlib
import io
import itertools
import random
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, QuerySet

from governance.assignments import Change, assign, update_item
from governance.models import Assignment, Team
from governance.roles import Role
from governance.scoping import restrict
from governance.towers import refresh_tower_summaries
from intake.pipeline import ingest_stream
from posture.models import Resource, Subscription
from posture.scope import ESTATE, Scope, narrowed
from recommendations.models import Finding, RuleTally, TowerMachine, TowerRuleTally, TowerTileTally
from recommendations.rule_selectors import (
    RuleFilter,
    _rule_totals,
    failed_rules,
    failing_rule_count,
    open_summary,
)
from recommendations.tallies import rebuild_tower_tallies
from tests.factories import make_assessment, make_recommendation, make_resource, make_subscription, make_user
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

RULES = "abcdef"
RESULTS = ("pass", "fail", "fail", "error", "notapplicable")


def seen_by_items(team: Team) -> set[int]:
    """What a tower sees, computed from the items as scoping did before the summaries existed."""
    concerned = Assignment.objects.filter(team=team).values("assessment__resource_id")
    return set(
        Resource.objects.filter(Q(pk__in=concerned) | Q(parent_id__in=concerned)).values_list("pk", flat=True)
    )


def direct_tallies(team: Team) -> dict[tuple[int, str, str, str], tuple[int, int, int]]:
    totals: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for sub, machine_os, kind, key, state in Finding.objects.filter(
        resource_id__in=seen_by_items(team)
    ).values_list("resource__subscription_id", "resource__os", "resource__kind", "rule__key", "state"):
        total = totals[(sub, machine_os, kind, key)]
        total[0] += state == "open"
        total[1] += state in ("passed", "resolved")
        total[2] += 1
    return {key: (a, b, c) for key, (a, b, c) in totals.items()}


TallyRows = dict[tuple[int, str, str, str], tuple[int, int, int]]


def tally_rows(tallies: QuerySet[Any]) -> TallyRows:
    return {
        (sub, machine_os, kind, key): (a, b, c)
        for sub, machine_os, kind, key, a, b, c in tallies.values_list(
            "subscription_id",
            "machine_os",
            "machine_kind",
            "rule__key",
            "open_count",
            "passing_count",
            "evaluated_count",
        )
        # Rows that fell back to zeros are left by increments; a direct count has none.
        if (a, b, c) != (0, 0, 0)
    }


def estate_tallies() -> TallyRows:
    return tally_rows(RuleTally.objects.all())


def stored_tallies(team: Team) -> TallyRows:
    return tally_rows(TowerRuleTally.objects.filter(tower_id=team.pk))


Tiles = dict[tuple[int, str, str], tuple[int, int]]


def direct_tiles(team: Team) -> Tiles:
    """The overview's tiles of a tower per subscription, counted from its machines' open findings:
    (open findings, machines with some) in all, by the rules' OS, severity and type."""
    failed: dict[tuple[int, str, str], int] = defaultdict(int)
    machines: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    for resource_id, sub, rule_os, severity, rule_type in Finding.objects.filter(
        resource_id__in=seen_by_items(team), state="open"
    ).values_list(
        "resource_id", "resource__subscription_id", "rule__os", "rule__severity", "rule__rule_type"
    ):
        for key in (
            (sub, "total", ""),
            (sub, "os", rule_os),
            (sub, "severity", severity),
            (sub, "type", rule_type),
        ):
            failed[key] += 1
            machines[key].add(resource_id)
    return {key: (n, len(machines[key])) for key, n in failed.items()}


def stored_tiles(team: Team) -> Tiles:
    return {
        (sub, tile, key): (failed, machines)
        for sub, tile, key, failed, machines in TowerTileTally.objects.filter(tower_id=team.pk).values_list(
            "subscription_id", "tile", "key", "failed", "machines"
        )
        if (failed, machines) != (0, 0)
    }


def check(teams: list[Team], subscriptions: list[Subscription]) -> None:
    for team in teams:
        assert set(TowerMachine.objects.filter(tower_id=team.pk).values_list("resource_id", flat=True)) == (
            seen_by_items(team)
        )
        assert stored_tallies(team) == direct_tallies(team)
        assert stored_tiles(team) == direct_tiles(team)
        # The overview's tiles read from them equal those summed from the machines' own tallies.
        # (Its machines as a subquery, as the pages narrow: a literal empty list leaves no SQL to embed.)
        findings = Resource.objects.filter(
            pk__in=TowerMachine.objects.filter(tower_id=team.pk).values("resource_id")
        )
        for scope in (ESTATE, Scope(subscription_ids=(subscriptions[0].pk, subscriptions[2].pk))):
            tiles = narrowed(scope, findings, (team.pk,))
            assert tiles.tower == team.pk
            assert open_summary(tiles) == open_summary(narrowed(scope, findings))


def scan(rng: random.Random, host: str, day: int) -> None:
    results = {rule: rng.choice(RESULTS) for rule in rng.sample(RULES, rng.randint(2, len(RULES)))}
    document = xccdf_result(
        host=host,
        results=results,
        when=datetime(2026, 11, day, rng.randint(0, 23), tzinfo=UTC),
        severities={rule: rng.choice(["high", "medium", "low"]) for rule in RULES},
    )
    ingest_stream(io.BytesIO(document), file_format="scap")


def move(rng: random.Random, machine: Resource, subscriptions: list[Subscription]) -> None:
    """An inventory that moves the machine to another subscription, or gives it another OS."""
    if machine.parent_id is not None:
        return  # an inventory row of an instance would need its scale set's column: left alone
    inventory(machine, rng.choice(["linux", "windows"]), rng.choice(subscriptions))


def inventory(machine: Resource, os: str, subscription: Subscription) -> None:
    line = f"{machine.resource_id},{machine.name},{machine.kind},{os},{subscription.name}\n"
    ingest_stream(
        io.BytesIO(f"resource_id,name,kind,os,subscription\n{line}".encode()), file_format="inventory"
    )


def build(seed: int) -> tuple[random.Random, list[Team], list[Resource], list[Subscription], User]:
    rng = random.Random(seed)
    subscriptions = [make_subscription(f"sub-{n}") for n in range(3)]
    machines = [
        make_resource(rng.choice(subscriptions), name=f"m-{n}", os=rng.choice(["linux", "windows"]))
        for n in range(8)
    ]
    pool = make_resource(subscriptions[0], name="pool", kind="vmss")
    machines += [
        make_resource(subscriptions[0], name=f"pool_{n}", kind="vmss_instance", parent=pool) for n in range(3)
    ]
    teams = [Team.objects.create(name=f"Tower {n}") for n in range(3)]
    admin = make_user("admin", role=Role.ADMIN)
    return rng, teams, [*machines, pool], subscriptions, admin


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tower_summaries_equal_a_direct_computation_through_random_changes(seed: int) -> None:
    rng, teams, resources, subscriptions, admin = build(seed)
    recommendation = make_recommendation("tower-test", applies_to_kinds=["vm", "vmss", "vmss_instance"])
    assessments = [make_assessment(r, recommendation, "unhealthy") for r in resources]
    machines = [r for r in resources if r.kind != "vmss"]
    for _ in range(40):
        action = rng.random()
        if action < 0.45:
            scan(rng, rng.choice(machines).name, rng.randint(1, 28))
        elif action < 0.75:
            assessment = rng.choice(assessments)
            team = rng.choice(teams)
            item = Assignment.objects.filter(assessment=assessment, finding=None).first()
            if item is None:
                assign(user=admin, assessment=assessment, team=team)
            else:
                update_item(user=admin, item=item, change=Change(team=team))
        elif action < 0.85:
            item = Assignment.objects.order_by("?").first()
            if item is not None:
                # An item removed (with its assessment, say): whoever removes one calls the hook.
                resource_id = item.assessment.resource_id
                item.delete()
                refresh_tower_summaries([resource_id])
        else:
            move(rng, Resource.objects.get(pk=rng.choice(machines).pk), subscriptions)
        check(teams, subscriptions)
    assert TowerMachine.objects.exists()
    assert TowerRuleTally.objects.exclude(open_count=0).exists()
    assert TowerTileTally.objects.filter(tile="severity", machines__gt=0).exists()
    # A rebuild from scratch gives the same rows, and so does a refresh of everything.
    incremental = {team.pk: (stored_tallies(team), stored_tiles(team)) for team in teams}
    rebuild_tower_tallies()
    assert {team.pk: (stored_tallies(team), stored_tiles(team)) for team in teams} == incremental
    TowerMachine.objects.all().delete()
    TowerRuleTally.objects.all().delete()
    TowerTileTally.objects.all().delete()
    refresh_tower_summaries()
    check(teams, subscriptions)


@pytest.mark.parametrize("seed", [4, 5])
def test_a_towers_overview_reads_its_summaries_with_the_numbers_of_its_findings(seed: int) -> None:
    rng, teams, resources, subscriptions, admin = build(seed)
    recommendation = make_recommendation("tower-test", applies_to_kinds=["vm", "vmss", "vmss_instance"])
    for resource in resources:
        if rng.random() < 0.6:
            assign(
                user=admin,
                assessment=make_assessment(resource, recommendation, "unhealthy"),
                team=rng.choice(teams),
            )
    for _ in range(25):
        scan(rng, rng.choice([r for r in resources if r.kind != "vmss"]).name, rng.randint(1, 28))
    lead = make_user("lead", role=Role.LEAD, team=teams[0])
    for scope in (ESTATE, Scope(subscription_ids=(subscriptions[0].pk, subscriptions[1].pk))):
        summaries = restrict(scope, lead)
        assert summaries.tower == teams[0].pk
        # The findings' way, as the pages counted a tower before (a scope with no tower to read).
        findings = narrowed(scope, Resource.objects.filter(pk__in=seen_by_items(teams[0])))
        assert findings.tower is None
        assert findings.is_restricted

        def table(s: Scope) -> list[tuple[str, int]]:
            return [(rule.key, getattr(rule, "machines")) for rule in failed_rules(RuleFilter(scope=s))]  # noqa: B009

        assert table(summaries) == table(findings)
        assert table(summaries), "the tower fails some rules"
        # The pages' count of failing rules (asked rule by rule) is the number of rows they list.
        for kinds in ((), ("vm", "arc_machine"), ("vmss_instance",)):
            for s, query in itertools.product((scope, summaries, findings), ("", "1")):
                rule_filter = RuleFilter(scope=s, kinds=kinds, query=query)
                assert failing_rule_count(rule_filter) == failed_rules(rule_filter).count(), (kinds, s, query)
        rule_ids = list(Finding.objects.values_list("rule_id", flat=True).distinct())
        assert _rule_totals(rule_ids, summaries) == _rule_totals(rule_ids, findings)
        assert open_summary(summaries) == open_summary(findings)
    # A lead of the estate's other towers sees none of tower 0's machines it does not share.
    other = make_user("other", role=Role.LEAD, team=teams[1])
    visible = restrict(ESTATE, other).resources
    assert visible is not None
    assert set(visible.values_list("pk", flat=True)) == seen_by_items(teams[1])


def test_a_machine_given_to_another_tower_leaves_the_first_towers_tallies() -> None:
    rng, teams, resources, _subscriptions, admin = build(9)
    machine = resources[0]
    scan(rng, machine.name, 3)
    assessment = make_assessment(machine, make_recommendation("x"), "unhealthy")
    item = assign(user=admin, assessment=assessment, team=teams[0], due=date(2026, 12, 31))
    assert TowerMachine.objects.filter(tower_id=teams[0].pk, resource=machine).exists()
    assert stored_tallies(teams[0])
    assert not stored_tallies(teams[1])
    update_item(user=admin, item=item, change=Change(team=teams[1]))
    assert not TowerMachine.objects.filter(tower_id=teams[0].pk).exists()
    assert not stored_tallies(teams[0])
    assert not stored_tiles(teams[0])
    assert stored_tallies(teams[1]) == direct_tallies(teams[1]) != {}
    assert stored_tiles(teams[1]) == direct_tiles(teams[1]) != {}


class StatementRunner:
    """What a RunPython function uses of its schema editor, inside the test's transaction (SQLite's
    schema editor refuses to open there)."""

    connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_migration_fills_the_summaries_of_an_existing_estate_as_the_hook_keeps_them() -> None:
    rng, teams, resources, _subscriptions, admin = build(11)
    recommendation = make_recommendation("tower-test", applies_to_kinds=["vm", "vmss", "vmss_instance"])
    for resource in resources:
        if rng.random() < 0.7:
            assessment = make_assessment(resource, recommendation, "unhealthy")
            assign(user=admin, assessment=assessment, team=rng.choice(teams))
    for _ in range(12):
        scan(rng, rng.choice([r for r in resources if r.kind != "vmss"]).name, rng.randint(1, 28))
    kept = {team.pk: stored_tallies(team) for team in teams}
    tiles = {team.pk: stored_tiles(team) for team in teams}
    estate = estate_tallies()
    machines = set(TowerMachine.objects.values_list("tower_id", "resource_id"))
    TowerMachine.objects.all().delete()
    TowerRuleTally.objects.all().delete()
    TowerTileTally.objects.all().delete()
    RuleTally.objects.all().delete()  # 0012 counts them again from the findings
    fill = importlib.import_module("governance.migrations.0005_i17_fill_tower_summaries").fill
    fill(django_apps, None)
    importlib.import_module("recommendations.migrations.0011_i17_tower_tiles").fill(django_apps, None)
    recount = importlib.import_module("recommendations.migrations.0012_rule_tallies_by_machine_kind").recount
    recount(django_apps, StatementRunner())
    assert set(TowerMachine.objects.values_list("tower_id", "resource_id")) == machines
    assert {team.pk: stored_tallies(team) for team in teams} == kept
    assert estate_tallies() == estate
    assert {kind for (_, _, kind, _) in estate} >= {"vm", "vmss_instance"}
    assert {team.pk: stored_tiles(team) for team in teams} == tiles
    assert any(kept.values())
    assert any(tiles.values())


def test_a_towers_tiles_follow_its_machines_scans_and_moves() -> None:
    """The tiles' every path, by hand: machines entering the tower, scanned again, moved to another
    subscription, leaving it."""
    _rng, teams, _resources, subscriptions, admin = build(13)
    web = [make_resource(subscriptions[0], name=f"web-{n}", os="linux") for n in range(2)]
    severities = {"a": "high", "b": "low", "c": "high"}

    def scan_of(host: str, day: int, results: dict[str, str]) -> None:
        when = datetime(2026, 11, day, tzinfo=UTC)
        document = xccdf_result(host=host, results=results, when=when, severities=severities)
        ingest_stream(io.BytesIO(document), file_format="scap")

    for machine in web:
        scan_of(machine.name, 1, {"a": "fail", "b": "fail", "c": "pass"})
    recommendation = make_recommendation("tiles")
    items = [
        assign(user=admin, assessment=make_assessment(m, recommendation, "unhealthy"), team=teams[0])
        for m in web
    ]
    sub0, sub1 = subscriptions[0].pk, subscriptions[1].pk
    assert stored_tiles(teams[0]) == direct_tiles(teams[0])
    assert stored_tiles(teams[0])[(sub0, "total", "")] == (4, 2)
    assert stored_tiles(teams[0])[(sub0, "severity", "high")] == (2, 2)
    scan_of(web[0].name, 2, {"a": "pass", "b": "fail", "c": "fail"})
    assert stored_tiles(teams[0]) == direct_tiles(teams[0])
    assert stored_tiles(teams[0])[(sub0, "severity", "low")] == (2, 2)
    inventory(Resource.objects.get(pk=web[0].pk), "linux", subscriptions[1])
    assert stored_tiles(teams[0]) == direct_tiles(teams[0])
    assert stored_tiles(teams[0])[(sub0, "total", "")] == (2, 1)
    assert stored_tiles(teams[0])[(sub1, "total", "")] == (2, 1)
    check(teams, subscriptions)
    update_item(user=admin, item=items[1], change=Change(team=teams[1]))
    assert (
        stored_tiles(teams[0])
        == direct_tiles(teams[0])
        == {
            (sub1, "total", ""): (2, 1),
            (sub1, "os", "linux"): (2, 1),
            (sub1, "severity", "high"): (1, 1),
            (sub1, "severity", "low"): (1, 1),
            (sub1, "type", "System Settings"): (2, 1),
        }
    )
    check(teams, subscriptions)
