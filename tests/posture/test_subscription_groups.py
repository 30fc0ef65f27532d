"""Groups of subscriptions: scored together as Defender scores a management group, chosen in the scope
selector as `?subscription=group:NAME`, managed on the Subscriptions page, the admin and a command.

The estate, all VMs; control Protect (max 7, recommendation r1) and control Patch (max 4, r2):
- subscription Alpha: a-1 (r1 healthy, r2 unhealthy), a-2 (r1 unhealthy), a-3 (r1 healthy);
- subscription Bravo: b-1 (r1 healthy, r2 healthy);
- subscription Charlie: c-1 (r1 unhealthy).
Group Pair holds Alpha and Bravo, group Trio all three, group Lonely Charlie, group Empty nothing.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from governance.models import Assignment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.models import Resource, Subscription, SubscriptionGroup
from posture.scope import ESTATE, scope_for
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


@dataclass
class Estate:
    alpha: Subscription
    bravo: Subscription
    charlie: Subscription
    a1: Resource
    pair: SubscriptionGroup
    lonely: SubscriptionGroup


def group(name: str, *subscriptions: Subscription) -> SubscriptionGroup:
    made = SubscriptionGroup.objects.create(name=name)
    made.subscriptions.set(subscriptions)
    return made


@pytest.fixture
def estate() -> Estate:
    r1, r2 = make_recommendation("r1"), make_recommendation("r2")
    make_control("Protect", 7, [r1])
    make_control("Patch", 4, [r2])
    alpha, bravo, charlie = (
        make_subscription("Alpha"),
        make_subscription("Bravo"),
        make_subscription("Charlie"),
    )
    a1, a2, a3 = (make_resource(alpha, name=f"a-{n}") for n in (1, 2, 3))
    b1, c1 = make_resource(bravo, name="b-1"), make_resource(charlie, name="c-1")
    for resource, rec, status in [
        (a1, r1, "healthy"),
        (a1, r2, "unhealthy"),
        (a2, r1, "unhealthy"),
        (a3, r1, "healthy"),
        (b1, r1, "healthy"),
        (b1, r2, "healthy"),
        (c1, r1, "unhealthy"),
    ]:
        make_assessment(resource, rec, status)
    pair = group("Pair", alpha, bravo)
    group("Trio", alpha, bravo, charlie)
    lonely = group("Lonely", charlie)
    group("Empty")
    return Estate(alpha, bravo, charlie, a1, pair, lonely)


def page(user: User, url: str, status: int = 200) -> Any:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, response.content.decode()[:2000]
    return response


def dashboard(query: str) -> str:
    return f"{reverse('dashboard')}?subscription={query}"


# The score of a group.


def test_a_group_of_two_subscriptions_scores_with_the_several_subscriptions_formula(estate: Estate) -> None:
    # Alpha: Protect 2 healthy of 3 -> round(7 x 2/3, 2) = 4.67 of 7; Patch 0 of 1 -> 0.00 of 4;
    #        current 4.67 of 11, weight 3 (a-1, a-2, a-3 count).
    # Bravo: Protect 7.00 of 7, Patch 4.00 of 4: 11.00 of 11, weight 1.
    # Management-group formula: round(3 x 4.67 / 11, 2) = round(1.2736, 2) = 1.27 and
    # round(1 x 11 / 11, 2) = 1.00; (1.27 + 1.00) / (3 + 1) = 56.75 %.
    # (One subscription's formula would give 15.67 / 22 = 71.23 %.)
    report = compute_score(scope_for("group:Pair"))
    assert report.scope.label == "Pair (group)"
    assert report.scope.subscription_ids == (estate.alpha.pk, estate.bravo.pk)
    assert (report.current, report.max, report.percentage) == (Decimal("15.67"), 22, Decimal("0.5675"))
    assert [(s.name, s.current, s.max, s.weight) for s in report.subscriptions] == [
        ("Alpha", Decimal("4.67"), 11, 3),
        ("Bravo", Decimal("11.00"), 11, 1),
    ]
    counted = [c for c in report.controls if c.max]
    assert [(c.name, c.current, c.max, c.healthy, c.unhealthy) for c in counted] == [
        ("Patch", Decimal("4.00"), 8, 1, 1),
        ("Protect", Decimal("11.67"), 14, 3, 1),
    ]


def test_a_group_holding_every_subscription_scores_as_the_whole_estate(estate: Estate) -> None:
    # Charlie adds Protect 0.00 of 7 with weight 1: (1.27 + 1.00 + 0.00) / 5 = 45.40 %.
    group_report, estate_report = compute_score(scope_for("group:Trio")), compute_score(ESTATE)
    assert group_report.percentage == estate_report.percentage == Decimal("0.4540")
    assert (group_report.current, group_report.max) == (estate_report.current, estate_report.max)
    assert group_report.controls == estate_report.controls
    assert group_report.subscriptions == estate_report.subscriptions


def test_the_score_api_and_command_take_a_group(estate: Estate) -> None:
    client = Client()
    client.force_login(make_user("analyst"))
    answer = client.get(reverse("api-score"), {"subscription": "group:Pair"})
    assert answer.status_code == 200
    document = answer.json()
    assert document["scope"]["subscription"] == "Pair (group)"
    assert [s["name"] for s in document["subscriptions"]] == ["Alpha", "Bravo"]
    unknown = client.get(reverse("api-score"), {"subscription": "group:Nope"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no group named 'Nope'"})

    out = StringIO()
    call_command("score", "--subscription", "group:Pair", stdout=out)
    assert out.getvalue().startswith("Secure score (Pair (group)): 15.67 / 22 points (56.75 %)")
    with pytest.raises(CommandError, match="holds no subscriptions"):
        call_command("score", "--subscription", "group:Empty")


# The scope selector and links.


def test_the_selector_lists_groups_then_subscriptions(estate: Estate) -> None:
    response = page(make_user("analyst"), dashboard("group:Pair"))
    # An empty group has nothing to show: it is not offered.
    assert response.context["scope_groups"] == [
        ("group:Lonely", "Lonely"),
        ("group:Pair", "Pair"),
        ("group:Trio", "Trio"),
    ]
    html = response.content.decode()
    select = html[html.index('<select id="scope-select"') : html.index("</select>")]
    assert (
        select.index("All subscriptions")
        < select.index('label="Groups"')
        < select.index('label="Subscriptions"')
    )
    assert '<option value="group:Pair" selected>Pair</option>' in select
    assert '<option value="Alpha">Alpha</option>' in select
    assert "Pair (group)" in html


def test_links_and_filter_forms_keep_the_group(estate: Estate) -> None:
    analyst = make_user("analyst")
    html = page(analyst, dashboard("group:Pair")).content.decode()
    assert f'href="{reverse("resource-list")}?subscription=group%3APair&amp;state=unhealthy"' in html
    assert f'href="{reverse("subscriptions")}?subscription=group%3APair"' in html

    resources = page(analyst, f"{reverse('resource-list')}?subscription=group:Pair")
    assert '<input type="hidden" name="subscription" value="group:Pair">' in resources.content.decode()
    assert [r.name for r in resources.context["page_obj"]] == ["a-1", "a-2", "a-3", "b-1"]


def test_an_unknown_group_is_the_404_of_an_unknown_subscription(estate: Estate) -> None:
    analyst = make_user("analyst")
    html = page(analyst, dashboard("group:Nope"), 404).content.decode()
    assert "Unknown subscription" in html
    assert "No group named &#x27;Nope&#x27;" in html
    assert "Unknown subscription" in page(analyst, dashboard("Nope"), 404).content.decode()


def test_an_empty_group_says_it_is_empty(estate: Estate) -> None:
    html = page(make_user("analyst"), dashboard("group:Empty"), 404).content.decode()
    assert "Empty group" in html
    assert "The group &#x27;Empty&#x27; holds no subscriptions yet" in html


def test_a_subscription_named_like_a_group_is_matched_first_and_no_group_hides_behind_it(
    estate: Estate,
) -> None:
    odd = make_subscription("group:Pair")
    scope = scope_for("group:Pair")
    assert (scope.subscription_ids, scope.label) == ((odd.pk,), "group:Pair")
    client = Client()
    client.force_login(make_user("analyst"))
    response = client.post(reverse("subscription-group-create"), {"name": "Odd"}, follow=True)
    assert SubscriptionGroup.objects.filter(name="Odd").exists()
    make_subscription("group:Later")
    response = client.post(reverse("subscription-group-create"), {"name": "Later"}, follow=True)
    assert (
        "a subscription is named &#x27;group:Later&#x27;, which would hide the group"
        in response.content.decode()
    )
    assert not SubscriptionGroup.objects.filter(name="Later").exists()


# A tower's lead.


def test_a_tower_lead_sees_groups_of_their_machines_and_their_numbers_only(estate: Estate) -> None:
    team = Team.objects.create(name="Tower")
    lead = make_user("lead", role=Role.LEAD, team=team)
    item = Assessment.objects.get(resource=estate.a1, recommendation__key="r2")
    created = Assignment.objects.create(
        assessment=item, team=team, first_detected=timezone.now(), due_date=date(2026, 12, 31)
    )
    refresh_tower_summaries([created.assessment.resource_id])

    response = page(lead, dashboard("group:Pair"))
    assert response.context["scope_choices"] == ["Alpha"]
    assert response.context["scope_groups"] == [("group:Pair", "Pair"), ("group:Trio", "Trio")]
    # Only a-1: Protect 7.00 of 7, Patch 0.00 of 4, one subscription: 7.00 / 11 = 63.64 %.
    report = response.context["report"]
    assert (report.current, report.max, report.percentage) == (Decimal("7.00"), 11, Decimal("0.6364"))
    assert [s.name for s in report.subscriptions] == ["Alpha"]

    # A group of none of the lead's machines, or an empty one, is as unknown as a group that is not there.
    def error(name: str) -> str:
        html = page(lead, dashboard(f"group:{name}"), 404).content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html).replace(name, "X")

    assert error("Lonely") == error("Empty") == error("Nowhere")


# Managing groups.


def test_analysts_manage_groups_on_the_subscriptions_page_and_it_is_audited(estate: Estate) -> None:
    analyst = make_user("analyst")
    client = Client()
    client.force_login(analyst)
    html = client.get(reverse("subscriptions")).content.decode()
    assert 'id="groups"' in html
    assert "Create group" in html

    created = client.post(
        reverse("subscription-group-create"),
        {"name": "  Prod  ", "subscription": [estate.alpha.pk, estate.charlie.pk]},
        follow=True,
    )
    assert "Group Prod created with 2 subscriptions." in created.content.decode()
    prod = SubscriptionGroup.objects.get(name="Prod")
    change = reverse("subscription-group-change", args=[prod.pk])
    client.post(change, {"add": [estate.bravo.pk]})
    client.post(change, {"remove": [estate.charlie.pk]})
    assert sorted(prod.subscriptions.values_list("name", flat=True)) == ["Alpha", "Bravo"]
    duplicate = client.post(reverse("subscription-group-create"), {"name": "Prod"}, follow=True)
    assert "a group named &#x27;Prod&#x27; already exists" in duplicate.content.decode()
    client.post(reverse("subscription-group-delete", args=[prod.pk]))
    assert not SubscriptionGroup.objects.filter(name="Prod").exists()
    assert Subscription.objects.filter(name="Alpha").exists()

    events = AuditEvent.objects.filter(action="scope_group").order_by("pk")
    assert [(e.actor, e.summary) for e in events] == [
        (analyst, "group Prod created: Alpha, Charlie"),
        (analyst, "group Prod: Alpha, Bravo, Charlie"),
        (analyst, "group Prod: Alpha, Bravo"),
        (analyst, "group Prod deleted"),
    ]
    assert (events[2].before, events[2].after) == (
        {"name": "Prod", "subscriptions": ["Alpha", "Bravo", "Charlie"]},
        {"name": "Prod", "subscriptions": ["Alpha", "Bravo"]},
    )
    assert events[0].ip == "127.0.0.1"


def test_viewers_see_groups_but_cannot_change_them(estate: Estate) -> None:
    viewer = make_user("viewer", role=Role.VIEWER)
    html = page(viewer, reverse("subscriptions")).content.decode()
    assert "Pair" in html
    assert "Create group" not in html
    assert "Remove" not in html
    client = Client()
    client.force_login(viewer)
    assert client.post(reverse("subscription-group-delete", args=[estate.pair.pk])).status_code == 403
    assert client.post(reverse("subscription-group-create"), {"name": "Mine"}).status_code == 403
    assert SubscriptionGroup.objects.filter(name="Pair").exists()


def test_the_scope_group_command_creates_changes_and_deletes(estate: Estate) -> None:
    def run(*args: str) -> str:
        out = StringIO()
        call_command("scope_group", *args, stdout=out)
        return out.getvalue().strip()

    assert run("Ops", "--add", "Alpha", "Bravo") == "group Ops created: Alpha, Bravo"
    assert run("Ops", "--remove", "Alpha", "--add", "Charlie") == "group Ops holds: Bravo, Charlie"
    assert run("Ops") == "group Ops holds: Bravo, Charlie"
    with pytest.raises(CommandError, match="no subscription named or with id 'Delta'"):
        run("Ops", "--add", "Delta")
    with pytest.raises(CommandError, match="no group named 'Nope'"):
        run("Nope", "--delete")
    assert run("Ops", "--delete") == "group Ops deleted"
    summaries = list(
        AuditEvent.objects.filter(action="scope_group").order_by("pk").values_list("actor_name", "summary")
    )
    assert summaries == [
        ("manage.py", "group Ops created: Alpha, Bravo"),
        ("manage.py", "group Ops: Bravo, Charlie"),
        ("manage.py", "group Ops deleted"),
    ]


def test_groups_changed_in_the_admin_are_audited(estate: Estate) -> None:
    admin = make_user("admin", role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    url = reverse("admin:posture_subscriptiongroup_change", args=[estate.pair.pk])
    response = client.post(url, {"name": "Pairs", "subscriptions": [estate.alpha.pk]})
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="scope_group")
    assert (event.actor, event.summary) == (admin, "group Pair renamed Pairs: Alpha")
    refused = client.post(reverse("admin:posture_subscriptiongroup_add"), {"name": "Trio"})
    assert refused.status_code == 200  # the form again, with its error
    make_subscription("group:Hidden")
    refused = client.post(reverse("admin:posture_subscriptiongroup_add"), {"name": "Hidden"})
    assert "which would hide the group" in refused.content.decode()
