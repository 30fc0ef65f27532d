"""The route table (web/access.py) names every route of the project, and no entry names a route
that is gone; signing out and the public routes work for everybody.

The routes are walked from the URL map (walk, project_routes: the tower access probes of
tests/security/test_tower_access.py and the page budgets use them too), so a route added anywhere is
checked without touching this file. That every route answers every caller as the table says, with
either tower's objects, is tests/security/test_tower_access.py's.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse, reverse_lazy

from governance.models import Team
from governance.roles import Role
from posture.agents import issue_token
from posture.models import Workspace
from tests.factories import make_user
from web.access import ACCESS

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


def make_caller(role: str) -> User:
    if role == "no role":
        return make_user("nobody", role=None)
    if role == "superuser":
        user = make_user("root", role=None)
        User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
        return User.objects.get(pk=user.pk)
    team = Team.objects.get_or_create(name="Tower")[0] if role in (Role.LEAD, Role.MEMBER) else None
    return make_user(f"user-{role}", role=Role(role), team=team)


CALLERS = [*(role.value for role in Role), "superuser", "no role"]


@pytest.mark.parametrize("url", [reverse_lazy("login"), reverse_lazy("agent-file", args=["install.sh"])])
def test_public_routes_stay_reachable_without_a_login(url: str) -> None:
    assert Client().get(url).status_code == 200


def test_every_role_and_a_user_without_one_can_log_out() -> None:
    for caller in CALLERS:
        client = Client()
        who = make_caller(caller)
        client.force_login(who)
        response = client.post(reverse("logout"))
        assert (response.status_code, response["Location"]) == (302, reverse("login")), caller
        who.delete()


def test_an_agent_heartbeat_reaches_its_view() -> None:
    token = issue_token(workspace=Workspace.objects.create(name="Main", workspace_id="ws-main")).token
    response = Client().post(
        reverse("api-heartbeats"),
        data={},
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400  # the view's own answer to an empty heartbeat
