"""Governance rules: which rule assigns what (priority, every selector, the owner), due dates, the grace
period in the score, manual assignments kept, and the rules page with its validation."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from audit.models import AuditEvent
from governance.assignments import apply_rules, assign
from governance.models import Assignment, GovernanceRule, Team
from governance.roles import Role
from governance.rules import RuleSpec, save_rule
from posture.models import Resource
from posture.scope import ESTATE
from recommendations.models import Assessment
from scoring.engine import compute_score
from tests.factories import (
    make_assessment,
    make_control,
    make_recommendation,
    make_resource,
    make_subscription,
    make_user,
)

pytestmark = pytest.mark.django_db

DETECTED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def unhealthy(resource: Resource, key: str | None = None, *, severity: str = "medium") -> Assessment:
    rec = make_recommendation(key, severity=severity)
    return make_assessment(resource, rec, "unhealthy", status_changed=DETECTED)


def rule(name: str, priority: int, **fields: object) -> GovernanceRule:
    return GovernanceRule.objects.create(name=name, priority=priority, **fields)


def owner_of(assessment: Assessment) -> tuple[str | None, str]:
    item = Assignment.objects.get(assessment=assessment)
    return (item.rule.name if item.rule else None, item.owner)


def test_the_first_matching_rule_by_priority_assigns():
    assessment = unhealthy(make_resource(), severity="high")
    rule("Catch-all", 50, owner_email="catch-all@example.com")
    rule("High first", 10, severities=["high"], owner_email="high@example.com")
    rule("Inactive", 1, active=False, owner_email="nobody@example.com")
    assert apply_rules() == 1
    assert owner_of(assessment) == ("High first", "high@example.com")


def test_every_selector_chooses_its_items():
    prod = make_subscription("Production")
    test = make_subscription("Test")
    by_severity = unhealthy(make_resource(test), severity="critical")
    by_key = unhealthy(make_resource(test), "disk-encryption")
    by_subscription = unhealthy(make_resource(prod))
    by_group = unhealthy(make_resource(test, resource_group="RG-Web"))
    by_tag = unhealthy(make_resource(test, tags={"env": "pci"}))
    by_os = unhealthy(make_resource(test, os="windows"))
    by_kind = unhealthy(make_resource(test, kind="k8s_cluster", os=""))
    unmatched = unhealthy(make_resource(test))
    rule("severity", 1, severities=["critical"], owner_email="severity@example.com")
    rule("recommendation", 2, recommendation_keys=["disk-encryption"], owner_email="rec@example.com")
    rule("subscription", 3, subscription_names=["Production"], owner_email="sub@example.com")
    rule("group", 4, resource_group="rg-web", owner_email="group@example.com")
    rule("tag", 5, tag_key="env", tag_value="pci", owner_email="tag@example.com")
    rule("os", 6, os="windows", owner_email="os@example.com")
    rule("kind", 7, kinds=["k8s_cluster"], owner_email="kind@example.com")
    rule("wrong tag value", 8, tag_key="env", tag_value="prod", owner_email="never@example.com")

    assert apply_rules() == 7
    assert {
        name: owner_of(assessment)[0]
        for name, assessment in {
            "severity": by_severity,
            "recommendation": by_key,
            "subscription": by_subscription,
            "group": by_group,
            "tag": by_tag,
            "os": by_os,
            "kind": by_kind,
        }.items()
    } == {
        "severity": "severity",
        "recommendation": "recommendation",
        "subscription": "subscription",
        "group": "group",
        "tag": "tag",
        "os": "os",
        "kind": "kind",
    }
    assert not Assignment.objects.filter(assessment=unmatched).exists()


def test_the_owner_comes_from_a_tag_and_the_due_date_from_the_first_detection():
    tagged = unhealthy(make_resource(tags={"owner": "alice@example.com"}))
    untagged = unhealthy(make_resource())
    linux = Team.objects.create(name="Linux")
    rule("Owners", 1, team=linux, owner_tag="owner", timeframe_days=14)
    with time_machine.travel(DETECTED + timedelta(days=3), tick=False):
        apply_rules()
    item = Assignment.objects.get(assessment=tagged)
    assert (item.team, item.owner) == (linux, "alice@example.com")
    assert item.first_detected == DETECTED
    assert item.due_date == date(2026, 12, 15)
    assert Assignment.objects.get(assessment=untagged).owner == ""


def test_the_grace_period_keeps_the_item_out_of_the_score_until_it_is_due():
    rec = make_recommendation()
    make_control("Graced", 4, [rec])
    for _ in range(3):
        make_assessment(make_resource(), rec, "healthy")
    late = make_assessment(make_resource(), rec, "unhealthy", status_changed=DETECTED)
    rule("Grace", 1, owner_email="ops@example.com", timeframe_days=7, grace_period=True)

    def points() -> Decimal:
        return next(c.current for c in compute_score(ESTATE).controls if c.name == "Graced")

    with time_machine.travel(DETECTED, tick=False):
        assert points() == Decimal("3.00")
        apply_rules()
        late.refresh_from_db()
        assert late.grace_until == date(2026, 12, 8)
        assert points() == Decimal("4.00")
    with time_machine.travel(datetime(2026, 12, 8, 23, 0, tzinfo=UTC), tick=False):
        assert points() == Decimal("4.00")  # due today: still in its grace period
    with time_machine.travel(datetime(2026, 12, 9, 0, 30, tzinfo=UTC), tick=False):
        assert points() == Decimal("3.00")


def test_a_manual_assignment_is_not_overridden_by_a_rule():
    linux = Team.objects.create(name="Linux")
    windows = Team.objects.create(name="Windows")
    make_user("win", role=Role.MEMBER, team=windows, email="win@example.com")  # an owner is a member
    assessment = unhealthy(make_resource())
    assign(user=make_user(), assessment=assessment, team=windows, owner="win@example.com")
    save_rule(user=make_user("other"), spec=RuleSpec(name="Everything", priority=1, team=linux))
    item = Assignment.objects.get(assessment=assessment)
    assert (item.team, item.owner, item.manual, item.rule) == (windows, "win@example.com", True, None)


# --- the service and the page -----------------------------------------------------------------------


def test_saving_a_rule_audits_it_and_assigns_the_unassigned_items(client):
    linux = Team.objects.create(name="Linux")
    assessment = unhealthy(make_resource(os="linux"))
    client.force_login(make_user("analyst", role=Role.ANALYST))
    response = client.post(
        "/governance/rules/",
        {
            "action": "save",
            "name": "Linux machines",
            "priority": "10",
            "os": "linux",
            "team": str(linux.pk),
            "timeframe_days": "30",
            "severities": ["high", "medium"],
        },
    )
    assert response.status_code == 302
    created = GovernanceRule.objects.get()
    assert (created.os, created.severities, created.team) == ("linux", ["high", "medium"], linux)
    assert Assignment.objects.get(assessment=assessment).rule == created
    event = AuditEvent.objects.get(action="governance_rule")
    assert event.summary == "governance rule 10. Linux machines created"
    assert event.after is not None
    assert event.after["team"] == "Linux"
    assert "Linux machines" in client.get("/governance/rules/").content.decode()

    # Edit: same route, with the rule's id; then deactivate it.
    assert 'value="Linux machines"' in client.get(f"/governance/rules/?edit={created.pk}").content.decode()
    edit = {
        "action": "save",
        "rule": str(created.pk),
        "name": "Linux",
        "priority": "10",
        "team": str(linux.pk),
        "timeframe_days": "7",
    }
    assert client.post("/governance/rules/", edit).status_code == 302
    created.refresh_from_db()
    assert (created.name, created.timeframe_days, created.os) == ("Linux", 7, "")
    response = client.post("/governance/rules/", {"action": "deactivate", "rule": str(created.pk)})
    assert response.status_code == 302
    created.refresh_from_db()
    assert not created.active
    changes = list(AuditEvent.objects.filter(action="governance_rule").order_by("pk"))
    assert [e.summary for e in changes[1:]] == [
        "governance rule 10. Linux changed",
        "governance rule 10. Linux deactivated",
    ]
    assert changes[1].before is not None
    assert changes[1].before["name"] == "Linux machines"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"priority": "5"}, "Priority 5 is already the rule &#x27;Existing&#x27;&#x27;s: choose another."),
        ({"team": "", "owner_email": ""}, "A rule gives its items to a team, an owner&#x27;s email"),
        ({"timeframe_days": "10"}, "The timeframe is one of 7, 14, 30, 90 days."),
        ({"priority": "first"}, "The priority is a whole number"),
        ({"owner_email": "not-an-address", "team": ""}, "&#x27;not-an-address&#x27; is not an email address"),
        ({"severities": ["urgent"]}, "Unknown severity urgent"),
        ({"recommendation_keys": "no-such-rec"}, "No recommendation no-such-rec in the catalog."),
        ({"name": "Existing"}, "A rule named &#x27;Existing&#x27; exists already."),
    ],
)
def test_bad_rule_input_is_a_clear_400_and_saves_nothing(client, data, message):
    linux = Team.objects.create(name="Linux")
    rule("Existing", 5, team=linux)
    client.force_login(make_user("analyst", role=Role.ANALYST))
    valid = {"action": "save", "name": "New", "priority": "6", "team": str(linux.pk), "timeframe_days": "30"}
    response = client.post("/governance/rules/", {**valid, **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(GovernanceRule.objects.values_list("name", flat=True)) == ["Existing"]
    assert not AuditEvent.objects.filter(action="governance_rule").exists()


def test_only_analysts_and_admins_open_the_rules_page(client):
    linux = Team.objects.create(name="Linux")
    for role in (Role.VIEWER, Role.LEAD):
        client.force_login(make_user(role.value, role=role, team=linux if role == Role.LEAD else None))
        assert client.get("/governance/rules/").status_code == 403
        assert client.post("/governance/rules/", {"name": "X", "priority": "1"}).status_code == 403
    assert not GovernanceRule.objects.exists()
