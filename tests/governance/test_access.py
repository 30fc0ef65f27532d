"""The route table (web/access.py) names every route of the project, and every route answers
every role (and anonymous callers, users without a role, agents) exactly as the table says.

The routes are walked from the URL map, so a route added anywhere is checked without touching this
file, unless it takes a URL argument this file cannot fill yet: then the test says which one.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from governance.models import Assignment, Exemption, GovernanceRule, Team
from governance.roles import Role
from posture.agents import issue_token
from posture.models import ImportJob, SubscriptionGroup, Workspace
from recommendations.models import Finding, Rule
from scoring.models import Control
from tests.factories import make_assessment, make_control, make_recommendation, make_resource, make_user
from tests.scans import scan_xccdf
from web.access import ACCESS, Access, allows

pytestmark = pytest.mark.django_db

ADMIN_SITE = "admin:*"
# The admin site is one entry of the table; these of its pages stand for all of them.
ADMIN_PAGES = ("admin:index", "admin:auth_user_changelist")


@dataclass(frozen=True)
class Route:
    name: str  # as the table names it
    url_name: str | None  # as reverse() names it
    pattern: str
    arguments: tuple[str, ...]
    is_api: bool


def walk(resolvers: list[Any], prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for entry in resolvers:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, pattern, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            if namespace == "admin":
                yield Route(ADMIN_SITE, None, pattern, (), False)
                continue
            url_name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            arguments = tuple(entry.pattern.converters) if hasattr(entry.pattern, "converters") else ()
            yield Route(
                url_name or f"<unnamed {pattern}>", url_name, pattern, arguments, pattern.startswith("api/")
            )


def project_routes() -> list[Route]:
    """Every route once (the admin site's patterns as one)."""
    return list({route.name: route for route in walk(get_resolver().url_patterns)}.values())


def test_every_route_is_in_the_access_table() -> None:
    missing = sorted({route.name for route in project_routes()} - set(ACCESS))
    assert not missing, f"routes missing from ACCESS (web/access.py): {missing}"


def test_every_entry_of_the_access_table_is_a_route() -> None:
    stale = sorted(set(ACCESS) - {route.name for route in project_routes()})
    assert not stale, f"ACCESS entries with no route (web/access.py): {stale}"


# A small estate to give every route valid-looking arguments.


@dataclass
class Estate:
    team: Team
    ids: dict[str, int]  # model name -> primary key
    recommendation_key: str
    agent_token: str


# The model of a route's `pk`, by route name.
PK_OF_ROUTE = {
    "control": "control",
    "resource": "resource",
    "rule": "rule",
    "import": "import_job",
    "api-import": "import_job",
    "auto-provisioning": "subscription",
    "item": "assignment",
    "item-update": "assignment",
    "exemption-end": "exemption",
    "subscription-group-change": "subscription_group",
    "subscription-group-delete": "subscription_group",
    "api-control": "control",
    "api-subscription": "subscription",
    "api-resource": "resource",
    "api-assessment": "assessment",
    "api-rule": "rule",
    "api-finding": "finding",
    "api-assignment": "assignment",
    "api-assignment-comments": "assignment",
    "api-exemption": "exemption",
    "api-exemption-end": "exemption",
    "api-governance-rule": "governance_rule",
}


def argument(estate: Estate, route: Route, name: str) -> object:
    if name == "pk":
        model = PK_OF_ROUTE.get(route.name)
        if model is None:
            pytest.fail(
                f"route {route.name!r} ({route.pattern}) takes a pk: name its model in PK_OF_ROUTE "
                "of tests/governance/test_access.py (and build one in the estate fixture if new)"
            )
        return estate.ids[model]
    if name == "key":
        return estate.recommendation_key
    if name == "name" and route.name == "agent-file":
        return "install.sh"
    pytest.fail(
        f"route {route.name!r} ({route.pattern}) takes {name!r}: tests/governance/test_access.py has no "
        "value for it; add one to argument()"
    )


def urls_of(route: Route, estate: Estate) -> list[str]:
    if route.name == ADMIN_SITE:
        return [reverse(name) for name in ADMIN_PAGES]
    assert route.url_name is not None
    return [reverse(route.url_name, kwargs={name: argument(estate, route, name) for name in route.arguments})]


@pytest.fixture
def estate() -> Estate:
    team = Team.objects.create(name="Tower")
    resource = make_resource(name="web-1")
    recommendation = make_recommendation("disk-encryption")
    make_control("Protect the machines", 10, [recommendation])
    assessment = make_assessment(resource, recommendation, "unhealthy")
    assignment = Assignment.objects.create(
        assessment=assessment, team=team, first_detected=timezone.now(), due_date=date(2026, 12, 31)
    )
    scan_xccdf("web-1", {"sshd_disable_root_login": "fail"})
    exemption = Exemption.objects.create(
        recommendation=recommendation, resource=resource, category="waiver", justification="test"
    )
    job = ImportJob.objects.create(original_name="scan.xml", size=1, sha256="0" * 64)
    workspace = Workspace.objects.create(name="Main", workspace_id="ws-main")
    group = SubscriptionGroup.objects.create(name="Everything")
    group.subscriptions.add(resource.subscription)
    rule = GovernanceRule.objects.create(name="Everything to the tower", priority=1, team=team)
    return Estate(
        team=team,
        ids={
            "control": Control.objects.get(name="Protect the machines").pk,
            "resource": resource.pk,
            "rule": Rule.objects.get().pk,
            "import_job": job.pk,
            "subscription": resource.subscription_id,
            "assignment": assignment.pk,
            "exemption": exemption.pk,
            "subscription_group": group.pk,
            "assessment": assessment.pk,
            "finding": Finding.objects.get().pk,
            "governance_rule": rule.pk,
        },
        recommendation_key=recommendation.key,
        agent_token=issue_token(workspace=workspace).token,
    )


# Calling every route.


def call(client: Client, url: str, **headers: str) -> Any:
    """GET, or POST (empty) where the route takes POST only."""
    response = client.get(url, headers=headers)
    if response.status_code == 405:
        response = client.post(url, headers=headers)
    return response


def sent_to_login(response: Any) -> bool:
    """Redirected to a login page to come back (a logout redirecting to the login is not that)."""
    location = response.get("Location", "") if response.status_code == 302 else ""
    return "login" in location and "next=" in location


def outcome(response: Any) -> str:
    if response.status_code in (401, 403):
        return "refused"
    if sent_to_login(response):
        return "sent to login"
    return f"allowed ({response.status_code})"


def expected(access: Access, route: Route, who: User | None) -> str:
    if access.public:
        return "allowed"
    if who is None:
        return "refused" if route.is_api else "sent to login"
    return "allowed" if allows(access, who) else "refused"


def make_caller(role: str, team: Team) -> User | None:
    if role == "anonymous":
        return None
    if role == "no role":
        return make_user("nobody", role=None)
    if role == "superuser":
        user = make_user("root", role=None)
        User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
        return User.objects.get(pk=user.pk)
    tower = team if role in (Role.LEAD, Role.MEMBER) else None
    return make_user(f"user-{role}", role=Role(role), team=tower)


CALLERS = [*(role.value for role in Role), "superuser", "no role", "anonymous"]
# Known disagreements between the table and the routes, outside web/access.py; each is asserted
# to still be there, so that fixing one makes this test say to remove its entry.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_answers_as_the_table_says(estate: Estate, caller: str) -> None:
    who = make_caller(caller, estate.team)
    wrong = []
    for route in project_routes():
        access = ACCESS.get(route.name)
        if access is None:
            continue  # test_every_route_is_in_the_access_table names it
        for url in urls_of(route, estate):
            client = Client()
            if who is not None:
                client.force_login(who)
            got = outcome(call(client, url))
            want = KNOWN_GAPS.get((caller, route.name)) or expected(access, route, who)
            if not got.startswith(want):
                wrong.append(f"{route.name} {url}: expected {want}, got {got}")
    assert not wrong, f"{caller} (a fixed KNOWN_GAPS entry is to be removed):\n" + "\n".join(wrong)


def test_agents_reach_exactly_the_api_routes_that_accept_them(estate: Estate) -> None:
    wrong = []
    for route in project_routes():
        access = ACCESS.get(route.name)
        if not route.is_api or access is None:
            continue
        for url in urls_of(route, estate):
            # Agents upload (POST) where people also read (GET): a route accepts them if either does.
            headers = {"authorization": f"Bearer {estate.agent_token}"}
            answers = {
                outcome(Client().get(url, headers=headers)),
                outcome(Client().post(url, headers=headers)),
            }
            got = next((answer for answer in answers if answer.startswith("allowed")), "refused")
            want = "allowed" if access.agents or access.public else "refused"
            if not got.startswith(want):
                wrong.append(f"{route.name} {url}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", ["login", "agent-file"])
def test_public_routes_stay_reachable_without_a_login(estate: Estate, name: str) -> None:
    route = next(route for route in project_routes() if route.name == name)
    response = call(Client(), urls_of(route, estate)[0])
    assert response.status_code == 200


def test_every_role_and_a_user_without_one_can_log_out(estate: Estate) -> None:
    for caller in CALLERS[:-1]:
        client = Client()
        who = make_caller(caller, estate.team)
        assert who is not None
        client.force_login(who)
        response = client.post(reverse("logout"))
        assert (response.status_code, response["Location"]) == (302, reverse("login")), caller
        who.delete()


def test_an_agent_heartbeat_reaches_its_view(estate: Estate) -> None:
    response = Client().post(
        reverse("api-heartbeats"),
        data={},
        content_type="application/json",
        headers={"authorization": f"Bearer {estate.agent_token}"},
    )
    assert response.status_code == 400  # the view's own answer to an empty heartbeat
