"""Query budgets of the pages: a page costs the same number of queries for a fleet of 6 machines as for
30 (no query per row), and no more than its pinned budget.

The pages are walked from the URL map, as tests/governance/test_access.py does, so a new page fails
here until it has a budget. A budget is a ceiling to change on purpose: a change that adds a query to a
page must raise the page's number below and say why in its commit.

Each page is asked by two people: an admin (the estate, every page) and a tower's lead (the tower's
scope, which filters through other queries).
"""

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.budgets.fleet import BIG, CONFIG_KEY, SMALL, Fleet
from tests.governance.test_access import Route, project_routes
from web.access import ACCESS, allows

pytestmark = pytest.mark.django_db

# Routes that answer POST only (forms and downloads of a selection), so they are no page to measure.
POST_ONLY = frozenset(
    {
        "logout",
        "quick-fix-bash",
        "quick-fix-ansible",
        "quick-fix-powershell",
        "auto-provisioning",
        "subscription-group-create",
        "subscription-group-change",
        "subscription-group-delete",
        "agent-install-commands",
        "items-bulk",
        "item-update",
        "exemption-request-create",
        "exemption-request-decide",
        "assign",
        "exemption-end",
        "person-save",
        "team-create",
    }
)


# The pages a route is asked as: (label, path with its query). The pk routes ask for rows the fleet
# holds at both sizes; the query variants are the tabs whose lists grow with the fleet.
def pages_of(route: Route, ids: dict[str, int]) -> list[tuple[str, str]]:
    name = route.name
    if name == "agent-file":
        return [(name, reverse(name, args=["install.sh"]))]
    if name in ("recommendation", "recommendation-export-csv"):
        return [(name, reverse(name, args=[CONFIG_KEY]))]
    if name == "resource":
        machine = reverse(name, args=[ids["machine"]])
        return [
            ("resource (machine)", machine),
            ("resource (machine, passed rules)", machine + "?state=passed"),
            ("resource (scale set)", reverse(name, args=[ids["scale_set"]])),
            ("resource (cluster)", reverse(name, args=[ids["cluster"]])),
        ]
    if name == "rule":
        rule = reverse(name, args=[ids["rule"]])
        return [
            ("rule (failing)", rule),
            ("rule (passing)", rule + "?tab=passing"),
            ("rule (never scanned)", rule + "?tab=never_scanned"),
        ]
    if name == "resource-list":
        return [(name, reverse(name)), ("resource-list (unhealthy)", reverse(name) + "?state=unhealthy")]
    if name == "audit-log":
        return [(name, reverse(name))]
    pk = {
        "control": "control",
        "import": "import",
        "item": "item",
        "exemption-request": "exemption_request",
    }.get(name)
    if pk is not None:
        return [(name, reverse(name, args=[ids[pk]]))]
    assert not route.arguments, f"{name} takes {route.arguments}: give it a page in pages_of()"
    return [(name, reverse(name))]


def page_routes() -> list[Route]:
    return [
        route
        for route in project_routes()
        if not route.is_api and route.name != "admin:*" and route.name not in POST_ONLY
    ]


# Ceilings, by who asks and page label; the same on SQLite and PostgreSQL (measured on both).
BUDGETS: dict[str, dict[str, int]] = {
    "admin": {
        "login": 2,
        "dashboard": 17,  # + Defender's reported score of each subscription listed (one query)
        "chart-score-trend-csv": 3,
        "chart-failed-rules-csv": 6,
        "chart-top-recommendations-csv": 10,
        "control": 13,
        "recommendation": 10,
        "recommendation-export-csv": 3,
        "os-config": 13,
        "rule (failing)": 9,
        "rule (passing)": 9,
        "rule (never scanned)": 8,
        "baseline": 11,  # + the sections of the published baselines, for the filter
        "baseline-csv": 3,
        "baseline-xlsx": 6,
        "agent-file": 2,
        "subscriptions": 9,
        "resource-list": 8,
        "resource-list (unhealthy)": 8,
        "resource (machine)": 19,
        "resource (machine, passed rules)": 19,
        "resource (scale set)": 17,
        "resource (cluster)": 19,
        "imports": 6,
        "import": 5,
        # + the page's severities, its requests, the pending requests' count.
        "my-items": 12,
        # + the failed rules behind the item, its standing request.
        "item": 10,
        "governance-report": 7,
        "exemptions": 6,
        "exemption-create": 6,
        "exemption-requests": 6,
        "exemption-request": 6,
        "governance-rules": 7,
        "audit-log": 7,
        "people": 9,
    },
    # A tower's scope costs a query or two more: the tower's subscriptions and resources, and the
    # towers (team ids) whose summaries it reads.
    "lead": {
        "login": 4,
        "dashboard": 18,
        "chart-score-trend-csv": 4,
        "chart-failed-rules-csv": 8,
        "chart-top-recommendations-csv": 11,
        "control": 15,
        "recommendation": 13,
        "recommendation-export-csv": 5,
        "os-config": 16,
        "rule (failing)": 12,
        "rule (passing)": 12,
        "rule (never scanned)": 11,
        "baseline": 14,
        "baseline-csv": 5,
        "baseline-xlsx": 8,
        "agent-file": 2,
        "resource-list": 11,
        "resource-list (unhealthy)": 11,
        "resource (machine)": 22,
        "resource (machine, passed rules)": 22,
        "resource (scale set)": 20,
        "resource (cluster)": 22,
        "my-items": 15,
        "item": 14,
        "exemption-requests": 9,
        "exemption-request": 9,
    },
}


def budget(who: str, label: str) -> int | None:
    return BUDGETS[who].get(label)


def count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, f"{path} answered {response.status_code}"
    return len(queries)


def measure(client: Client, pages: list[tuple[str, str]]) -> dict[str, int]:
    counts = {}
    for label, path in pages:
        client.get(path)  # what is cached per process (content types, the role) is not the page's cost
        counts[label] = count(client, path)
    return counts


def user_pages(fleet: Fleet, who: str) -> Iterator[tuple[str, str]]:
    user = getattr(fleet, who)
    ids = fleet.ids()
    for route in page_routes():
        # A tower keeps no score history: its trend CSV is a 404 saying why (tests/scoring/test_history.py).
        if route.name == "chart-score-trend-csv" and who == "lead":
            continue
        if allows(ACCESS[route.name], user):
            yield from pages_of(route, ids)


@pytest.mark.parametrize("who", ["admin", "lead"])
def test_every_page_costs_the_same_queries_for_a_bigger_fleet_and_stays_in_budget(
    fleet: Fleet, client: Client, who: str
) -> None:
    client.force_login(getattr(fleet, who))
    pages = list(user_pages(fleet, who))
    small = measure(client, pages)
    fleet.grow(BIG)
    big = measure(client, pages)
    print(f"\n{who} {connection.vendor}: " + ", ".join(f'"{label}": {small[label]}' for label in small))

    growing = {label: (small[label], big[label]) for label in small if small[label] != big[label]}
    assert not growing, f"pages costing more queries for {BIG} machines than for {SMALL}: {growing}"
    unbudgeted = sorted(label for label in small if budget(who, label) is None)
    assert not unbudgeted, f"pages without a query budget for {who} (add them to BUDGETS): {unbudgeted}"
    over = {label: (n, budget(who, label)) for label, n in big.items() if n > (budget(who, label) or 0)}
    assert not over, f"pages over their query budget, (queries, budget): {over}"


FAKE_IDS = dict.fromkeys(
    ("machine", "scale_set", "cluster", "rule", "control", "import", "item", "exemption_request"), 1
)


def test_every_budget_is_a_page() -> None:
    labels = {label for who in ("admin", "lead") for label in BUDGETS[who]}
    stale = sorted(labels - {label for route in page_routes() for label, _ in pages_of(route, FAKE_IDS)})
    assert not stale, f"budgets of pages that do not exist: {stale}"


def test_post_only_routes_are_no_pages(fleet: Fleet, client: Client) -> None:
    client.force_login(fleet.admin)
    routes = {route.name: route for route in project_routes()}
    for name in sorted(POST_ONLY):
        route = routes[name]
        args = [1] * len(route.arguments)
        assert client.get(reverse(name, args=args)).status_code == 405, f"{name} answers GET: budget it"
