"""Tower isolation, probed as an attacker with a valid account would: every route of the URL map, as
anonymous, an agent, a user without a role, a viewer, an analyst, an admin and the lead and member of
each of two towers, with a session and with an API token, reads and writes, CSRF enforced. The estate
(tests/security/two_towers.py) gives every object an id that says whose it is, so new routes are probed
without touching this file.

The kinds of disclosure checked, for each tower caller against the other tower:
1. Existence by id: a route taking an id answers each of the other tower's ids (of any kind of object:
   items, machines, findings, assessments, comments, subscriptions, groups, teams...) exactly as an id
   nothing has: status, content type, redirect, file name, body, queued messages. Reads and writes.
2. Names and filter values: `?subscription=` (another tower's name or group:NAME), the search boxes,
   and every filter the OpenAPI schema lists for a route (team by id and by name, owner address,
   resource, resource group, tag, name, due dates) answer the other tower's values as unknown ones.
3. Error texts: a write naming the other tower's objects (an item, an assessment, a failed rule, a
   team, an owner's address), one field at a time and all together, answers as the same write naming
   objects that do not exist: no validation describes another tower's data, refusals read the same.
4. Bodies and exports: nothing a tower caller receives (pages, JSON, CSV, XLSX unzipped, redirects,
   file names, messages) holds the other tower's name, addresses or ids.
5. Writes: a refused write changes nothing; a session's write without its CSRF token is refused and
   changes nothing.
6. Redirects: no answer sends the browser off the site, and neither does a login's or logout's `next=`.
7. Stability: a tower's pages, API answers and exports stay byte for byte the same when only the other
   tower's estate changes (new items on the shared machine, statuses, owners, names, machines).
8. The route table: every caller gets from every route and method what web/access.py says (an
   answer, a 401/403, or the login page), and no route answers with a server error.
Positive controls make each probe able to fail: the rightful caller gets its own object where the
other's id gets a 404, its own subscription and filter values select its rows, and its writes with
the same bodies succeed and change the estate.

Every caller gets the id, route table, CSRF, body and redirect checks. The names, filter values and
write fields are tried where they can differ (deep()): reads by each tower's lead (pages with its
session, the API with its token: what a tower reads does not depend on the role or the way of calling),
writes by its lead and its member (pages with sessions, the API with the lead's session and the
member's token). Viewers, analysts and admins see both towers: for them only the route table, CSRF,
redirects and the positive controls apply. The probes of each tower use the first two ids of the
other's range (its item on the shared machine and one on its own machine, its machine, its first
findings, assessments, comments, its subscription, group, team...).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from governance.assignments import Change, assign, update_item
from governance.models import Assignment, AssignmentStatus, Comment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from posture.models import SubscriptionGroup
from recommendations.evaluators.os_config import MACHINE_KEY
from recommendations.models import Finding
from tests.factories import make_resource, make_user
from tests.scans import scan_xccdf
from tests.security.probing import (
    WRITES,
    Answer,
    Caller,
    Endpoint,
    Tally,
    callers,
    client_for,
    endpoints,
    expectation,
    leaves_the_site,
    probe,
    take_baseline,
    traces_of,
)
from tests.security.two_towers import DMESG, MISSING_ID, SSH, Estate, Tower, build_estate
from web.access import ACCESS, ANALYSTS, ASSIGNERS, EVERYONE, WORKERS

pytestmark = pytest.mark.django_db

BUILT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PROBED = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ADMINS = frozenset({Role.ADMIN})
NOBODY_SUCCEEDS: frozenset[Role] = frozenset()
# Routes probed with what they are for, not as writes: signing in and out (test_no_next_leaves_the_site).
SIGN_IN_OUT = ("login", "logout")


@pytest.fixture(scope="module")
def estate(django_db_setup: None, django_db_blocker: Any) -> Iterator[Estate]:
    """The two towers, built once for the module inside a transaction rolled back after it; each test
    runs in a savepoint of its own, as usual."""
    with django_db_blocker.unblock(), transaction.atomic():
        with time_machine.travel(BUILT, tick=False):
            built = build_estate()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def routes(estate: Estate, django_db_blocker: Any) -> list[Endpoint]:
    with django_db_blocker.unblock():
        admin = Client()
        admin.force_login(estate.admin)
        return endpoints(admin, MISSING_ID)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture(autouse=True)
def _probing_time() -> Iterator[None]:
    # One frozen moment: times in pages and file names do not move between two probes compared, and
    # what a write changes is stamped later than anything built.
    with (
        time_machine.travel(PROBED, tick=False),
        override_settings(POSTURE_API_USER_RATE="100000/min", POSTURE_API_ANON_RATE="100000/min"),
    ):
        yield


# --- writes: a valid body of the rightful caller, and the fields tried with other values ------------


@dataclass(frozen=True)
class Body:
    fields: Callable[[Tower, Estate], dict[str, Any]]
    vary: tuple[str, ...]  # fields tried with the other tower's object and with a missing one
    succeeds_for: frozenset[Role]  # the roles whose write succeeds (the others are refused)


def reference(name: str, tower: Tower | None) -> Any:
    """The object a body field names: the tower's, or (tower None) one that does not exist."""
    if tower is None:
        return "nobody@nowhere.example" if name == "owner" else MISSING_ID
    return {
        "item": tower.item_on_machine.pk,
        "items": tower.item_on_machine.pk,
        "assessment": tower.assessment.pk,
        "finding": tower.open_finding.pk,
        "team": tower.team.pk,
        "owner": tower.lead.email,
        "resource": tower.machine.pk,
        "subscription": tower.subscription.pk,
    }[name]


def assignment(t: Tower, e: Estate) -> dict[str, Any]:
    return {"assessment": t.assessment.pk, "team": t.team.pk, "owner": t.member_email}


def bulk_status(t: Tower, e: Estate) -> dict[str, Any]:
    return {"action": "status", "status": "in_progress", "item": [t.item_on_machine.pk]}


def bulk_assign(t: Tower, e: Estate) -> dict[str, Any]:
    return {"action": "assign", "item": [t.item_on_machine.pk], "team": t.team.pk, "owner": t.member_email}


def quick_fix(t: Tower, e: Estate) -> dict[str, Any]:
    return {"finding": [t.open_finding.pk]}


def exemption(t: Tower, e: Estate) -> dict[str, Any]:
    return {
        "recommendation": MACHINE_KEY,
        "subscription": t.subscription.pk,
        "category": "waiver",
        "justification": "probe",
    }


def exemption_request(t: Tower, e: Estate) -> dict[str, Any]:
    return {
        "item": [t.item_on_machine.pk],
        "category": "risk_accepted",
        "justification": "probe",
        "expires_on": "2027-01-31",
    }


def api_exemption_request(t: Tower, e: Estate) -> dict[str, Any]:
    return {
        "items": [t.item_on_machine.pk],
        "category": "risk_accepted",
        "justification": "probe",
        "expires_on": "2027-01-31",
    }


def fixed(**fields: Any) -> Callable[[Tower, Estate], dict[str, Any]]:
    return lambda t, e: fields


ASSIGNING = ("assessment", "finding", "team", "owner")
BODIES: dict[tuple[str, str], list[Body]] = {
    ("items-bulk", "POST"): [
        Body(bulk_status, ("item",), WORKERS),
        Body(bulk_assign, ("item", "team", "owner"), ASSIGNERS),
    ],
    ("item-update", "POST"): [
        Body(fixed(status="in_progress", comment="probe"), (), WORKERS),
        Body(lambda t, e: {"owner": t.member_email}, ("owner",), ASSIGNERS),
    ],
    ("assign", "POST"): [Body(assignment, ASSIGNING, ASSIGNERS)],
    ("api-assignments", "POST"): [Body(assignment, ASSIGNING, ASSIGNERS)],
    ("api-assignment", "PATCH"): [
        Body(fixed(status="in_progress"), (), WORKERS),
        Body(lambda t, e: {"team": t.team.pk, "owner": t.member_email}, ("team", "owner"), ASSIGNERS),
    ],
    ("api-assignment-comments", "POST"): [Body(fixed(text="probe note"), (), WORKERS)],
    ("quick-fix-bash", "POST"): [Body(quick_fix, ("finding",), EVERYONE)],
    ("quick-fix-ansible", "POST"): [Body(quick_fix, ("finding",), EVERYONE)],
    ("agent-install-commands", "POST"): [
        Body(lambda t, e: {"resource": [t.machine.pk], "workspace": "ws-main"}, ("resource",), ANALYSTS)
    ],
    ("auto-provisioning", "POST"): [Body(fixed(workspace="ws-main"), (), ANALYSTS)],
    ("subscription-group-create", "POST"): [
        Body(
            lambda t, e: {"name": "probe-group", "subscription": [t.subscription.pk]},
            ("subscription",),
            ANALYSTS,
        )
    ],
    ("subscription-group-change", "POST"): [Body(lambda t, e: {"add": [e.common.pk]}, (), ANALYSTS)],
    ("subscription-group-delete", "POST"): [Body(fixed(), (), ANALYSTS)],
    ("exemption-create", "POST"): [
        Body(lambda t, e: {**exemption(t, e), "scope": "subscription"}, ("subscription",), ANALYSTS)
    ],
    ("exemption-end", "POST"): [Body(fixed(), (), ANALYSTS)],
    ("exemption-request-create", "POST"): [Body(exemption_request, ("item",), WORKERS)],
    ("exemption-request-decide", "POST"): [Body(fixed(decision="approve"), (), ANALYSTS)],
    ("governance-rules", "POST"): [
        Body(
            lambda t, e: {"name": "probe rule", "priority": "99", "timeframe_days": "30", "team": t.team.pk},
            ("team",),
            ANALYSTS,
        )
    ],
    ("person-save", "POST"): [
        Body(fixed(username="probe-user", role="viewer", email="probe@example.com"), (), ADMINS)
    ],
    ("team-create", "POST"): [Body(fixed(name="probe-team"), (), ADMINS)],
    ("api-exemptions", "POST"): [Body(exemption, ("subscription",), ANALYSTS)],
    ("api-exemption-end", "POST"): [Body(fixed(), (), ANALYSTS)],
    ("api-exemption-requests", "POST"): [Body(api_exemption_request, ("items",), WORKERS)],
    ("api-exemption-request-decide", "POST"): [Body(fixed(decision="approve"), (), ANALYSTS)],
    ("api-governance-rules", "POST"): [
        Body(lambda t, e: {"name": "probe rule", "priority": 99, "team": t.team.pk}, ("team",), ANALYSTS)
    ],
    ("api-governance-rule", "PATCH"): [Body(fixed(active=True), (), ANALYSTS)],
}
# A write this file has no valid body for: the rightful caller is only expected not to be refused.
ANY_BODY = Body(lambda t, e: {}, (), NOBODY_SUCCEEDS)


def with_value(fields: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    shaped = [value] if isinstance(fields.get(name), list) else value
    return {**fields, name: shaped}


# --- query parameters: the caller's value, the other tower's, one nobody has ------------------------

# Parameters not tried with a tower's values: paging and sorting, `subscription` (tried on its own),
# `severity` (all, under every query), the catalog's (a rule search `q`, keys, titles...) and fixed
# choices, and the due dates (tried together, as one day's window).
NOT_TRIED = {
    "cursor", "ordering", "page_size", "format", "bom", "subscription", "severity", "state", "status",
    "rule", "benchmark", "control", "recommendation", "key", "cce", "rule_type", "title", "os", "q",
    "category", "kind", "overdue", "due_before", "due_after",
}  # fmt: skip


# A query parameter by its name: the values of a tower's it is tried with, and as many nobody has.
PARAMETERS: dict[str, tuple[Callable[[Tower], list[str]], list[str]]] = {
    "team": (lambda t: [str(t.team.pk), t.team.name], [str(MISSING_ID), "nowhere-tower"]),
    "owner": (lambda t: [t.lead.email], ["nobody@nowhere.example"]),
    "resource": (lambda t: [str(t.machine.pk)], [str(MISSING_ID)]),
    "resource_group": (lambda t: [t.machine.resource_group], ["rg-nowhere"]),
    "tag": (lambda t: [f"tower={t.word}"], ["tower=nowhere"]),
    "name": (
        lambda t: [t.machine.name, t.team.name, t.subscription.name],
        ["nowhere-vm", "nowhere-tower", "nowhere-sub"],
    ),
    "external_id": (lambda t: [str(t.subscription.external_id)], ["nowhere-sub-id"]),
}


def parameter_values(name: str, kind: str | None, tower: Tower | None) -> list[str]:
    """The values a query parameter is tried with, for a tower or (None) values nobody has; by its
    name, else by its type (an id, else a name)."""
    if name in PARAMETERS:
        of_tower, missing = PARAMETERS[name]
        return of_tower(tower) if tower else missing
    if kind in ("integer", "number"):
        return [str(tower.first_id)] if tower else [str(MISSING_ID)]
    return [tower.machine.name] if tower else ["nowhere-vm"]


def query_probes(endpoint: Endpoint, schema: dict[str, Any], tower: Tower | None) -> list[dict[str, str]]:
    """One query per value to try: the schema's parameters for an API route (plus the due-date window
    where it has one), the search box for a page; each on top of `severity=all` where that parameter
    exists, so that filters bite on every finding."""
    operation = schema["paths"].get(endpoint.schema_path, {}).get("get")
    if not endpoint.is_api:
        values = [tower.machine.name] if tower else ["nowhere-vm"]
        return [{"q": value} for value in values]
    if operation is None:
        return []
    parameters = {
        p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "query"
    }
    base = {"severity": "all"} if "enum" not in parameters.get("severity", {"enum": 0}) else {}
    queries = []
    for name, kind in parameters.items():
        if name in NOT_TRIED or "enum" in kind or kind.get("type") == "boolean" or kind.get("format"):
            continue
        queries += [{**base, name: value} for value in parameter_values(name, kind.get("type"), tower)]
    if "due_before" in parameters and "due_after" in parameters:
        day = (tower.due_date if tower else date(2027, 3, 30)).isoformat()
        queries.append({**base, "due_after": day, "due_before": day})
    return queries


def takes_subscription(endpoint: Endpoint, schema: dict[str, Any]) -> bool:
    """Every page reads `?subscription=`; an API route when its schema lists it."""
    if not endpoint.is_api:
        return True
    operation = schema["paths"].get(endpoint.schema_path, {}).get("get", {})
    return any(p["name"] == "subscription" for p in operation.get("parameters", []))


def subscription_values(tower: Tower | None) -> list[str]:
    if tower is None:
        return ["nowhere-sub", "group:nowhere-group"]
    return [tower.subscription.name, f"group:{tower.group.name}"]


# --- one caller against every route -------------------------------------------------------------------


@dataclass
class Run:
    """One caller's probes, and what they found."""

    caller: Caller
    client: Client
    estate: Estate
    tally: Tally
    problems: list[str]

    @property
    def own(self) -> Tower:
        # Viewers, analysts and admins see both towers: alpha's objects stand for theirs.
        return self.caller.tower or self.estate.alpha

    @property
    def other(self) -> Tower | None:
        return self.estate.other(self.caller.tower) if self.caller.tower else None

    def check(self, endpoint: Endpoint, method: str, answer: Answer, what: str) -> None:
        """What every answer must be: no server error, no redirect off the site, nothing of the other
        tower."""
        self.tally.probes += 1
        where = f"{self.caller.label}: {method} {endpoint.name} {what}"
        if answer.status >= 500:
            self.problems.append(f"{where}: server error {answer.status}")
        if leaves_the_site(answer):
            self.problems.append(f"{where}: redirects off the site to {answer.location}")
        if self.other is not None:
            for trace in traces_of(self.other, answer):
                self.tally.leaks.append(f"{where}: {trace}")

    def compare(self, endpoint: Endpoint, method: str, theirs: Answer, missing: Answer, what: str) -> None:
        """The other tower's value must get exactly the answer of a value nothing has."""
        if theirs != missing:
            self.tally.leaks.append(
                f"{self.caller.label}: {method} {endpoint.name} {what}: answers {theirs.summary()!r} "
                f"where a missing one answers {missing.summary()!r}"
            )

    def ids(self) -> tuple[list[int], list[int]]:
        """The ids tried as the caller's own (positive controls: a common object counts), in the same
        order for everyone, and as the other tower's."""
        own = [*self.own.probed_ids, self.estate.shared.pk, self.estate.control_id, self.estate.rule_id]
        other = self.other.probed_ids if self.other else []
        return own, other


# (route, method) -> the index of the own id candidate that is the route's kind of object.
LEARNT: dict[tuple[str, str], int] = {}


def run_caller(run: Run, routes: list[Endpoint], schema: dict[str, Any]) -> None:
    for endpoint in routes:
        run.tally.routes.add(endpoint.name)
        answered = False
        for method in endpoint.methods:
            if method in WRITES and endpoint.name in SIGN_IN_OUT:
                continue
            answered |= probe_route(run, endpoint, method, schema)
        # An agent is let in where the table says, by at least one method (it uploads, reads its jobs).
        if run.caller.kind == "agent" and ACCESS[endpoint.name].agents and not answered:
            run.problems.append(f"{run.caller.label}: {endpoint.name} takes agents, but refused every method")


def deep(run: Run, endpoint: Endpoint, method: str) -> bool:
    """Whether the caller tries the other tower's values in queries and bodies here (the id, role and
    CSRF probes are everybody's). What a tower reads does not depend on the role in it or on how it
    calls, once known: reads are tried by its lead, pages with a session and the API with a token.
    Writes depend on the role: a lead's and a member's, pages with a session, the API with a session
    for the lead and a token for the member."""
    if run.other is None:
        return False
    kind, lead = run.caller.kind, run.caller.role == Role.LEAD
    if not endpoint.is_api:
        return kind == "session" and (lead or method in WRITES)
    if method not in WRITES:
        return lead and kind == "token"
    return kind == ("session" if lead else "token")


def probe_route(run: Run, endpoint: Endpoint, method: str, schema: dict[str, Any]) -> bool:
    """Every probe of one route and method; whether the rightful probe was let in."""
    caller, estate = run.caller, run.estate
    let_in = False
    expected = expectation(endpoint, method, caller)
    bodies = BODIES.get((endpoint.name, method), [ANY_BODY]) if method in WRITES else [None]
    own_ids, other_ids = run.ids()
    for body in bodies:
        fields = body.fields(run.own, estate) if body else None
        tried: list[Any]
        missing: Any
        if endpoint.takes_id:
            tried, theirs, missing = own_ids, other_ids, MISSING_ID
        elif endpoint.takes_key:
            tried, theirs, missing = [estate.recommendation_key], [], "no-such-key"
        else:
            tried, theirs, missing = [None], [], None

        def ask(value: Any, data: dict[str, Any] | None = fields, csrf: bool = True) -> Any:
            done = probe(
                run.client,
                endpoint,
                method,
                endpoint.url(value),
                tried=[str(value)] if value is not None else [],
                data=data,
                csrf=csrf,
            )
            run.check(endpoint, method, done.answer, f"{value!r} {data or ''}")
            return done

        missing_answer = ask(missing).answer if (endpoint.takes_id or endpoint.takes_key) else None
        # The caller's own objects, until one answers otherwise than a missing one: the positive
        # control, and the object the deeper probes start from.
        # Which of the candidates (the tower's first ids, the shared machine, a control, a rule) is the
        # route's kind of object was learnt from the callers before: tried first.
        learnt = LEARNT.get((endpoint.name, method), 0)
        tried = [tried[learnt], *tried[:learnt], *tried[learnt + 1 :]] if learnt < len(tried) else tried
        base, rightful = tried[0], ask(tried[0])
        for value in tried[1:] if "allowed" in expected and missing_answer is not None else []:
            if rightful.answer != missing_answer:
                break
            base, rightful = value, ask(value)
        if missing_answer is not None and rightful.answer != missing_answer and base in own_ids:
            LEARNT[(endpoint.name, method)] = own_ids.index(base)
        let_in |= rightful.answer.outcome == "allowed"
        if missing_answer is not None and rightful.answer != missing_answer:
            run.tally.positives += 1
        elif missing_answer is not None and expected == {"allowed"}:
            run.problems.append(
                f"{caller.label}: {method} {endpoint.name}: no object of the caller's answers otherwise than "
                f"a missing one (no positive control): {rightful.answer.summary()!r}"
            )
        succeeds = body is None or body is ANY_BODY or caller.role in body.succeeds_for
        # A role the body is not for may be refused by the service, where the table lets it call.
        acceptable = expected | ({"refused"} if not succeeds and "allowed" in expected else set())
        if rightful.answer.outcome not in acceptable:
            run.problems.append(
                f"{caller.label}: {method} {endpoint.name}: expected {' or '.join(sorted(acceptable))} "
                f"(web/access.py), got {rightful.answer.summary()!r}"
            )
        if method in WRITES:
            check_write(run, endpoint, method, body, rightful, expected)
            # CSRF: a session's write without its token is refused and changes nothing.
            if caller.kind == "session":
                bare = ask(base, csrf=False)
                if bare.answer.outcome != "refused" or bare.changed:
                    run.problems.append(
                        f"{caller.label}: {method} {endpoint.name} without its CSRF token: "
                        f"{bare.answer.summary()!r}, changed={bare.changed}"
                    )
        for value in theirs:
            run.compare(endpoint, method, ask(value).answer, missing_answer, f"id {value}")  # type: ignore[arg-type]
        if "allowed" not in expected or not deep(run, endpoint, method):
            continue
        if method == "GET":
            probe_queries(run, endpoint, base, schema)
        elif body is not None and fields is not None:
            probe_fields(run, endpoint, method, base, body, fields)
    return let_in


def check_write(
    run: Run, endpoint: Endpoint, method: str, body: Body | None, rightful: Any, expected: set[str]
) -> None:
    """A refused write changed nothing; the rightful caller's write with a valid body succeeded and
    changed the estate (the positive control of refusals)."""
    caller, answer = run.caller, rightful.answer
    where = f"{caller.label}: {method} {endpoint.name}"
    if (answer.outcome != "allowed" or answer.failed) and rightful.changed:
        run.problems.append(f"{where}: a refused write changed the estate: {answer.summary()!r}")
    if body is None or "allowed" not in expected or not body.succeeds_for:
        return
    if caller.role not in body.succeeds_for:
        if not answer.failed:
            run.problems.append(f"{where}: a {caller.role} write went through: {answer.summary()!r}")
    elif answer.failed or not rightful.changed:
        run.problems.append(f"{where}: the rightful write failed: {answer.summary()!r}")
    else:
        run.tally.positives += 1


def probe_queries(run: Run, endpoint: Endpoint, value: Any, schema: dict[str, Any]) -> None:
    """`?subscription=`, the search boxes and every filter: the other tower's values as unknown ones."""
    url = endpoint.url(value)
    plain: dict[frozenset[tuple[str, str]], Answer] = {}

    def ask(query: dict[str, str]) -> Answer:
        done = probe(run.client, endpoint, "GET", url, query=query, tried=list(query.values()))
        run.check(endpoint, "GET", done.answer, f"?{query}")
        return done.answer

    def unfiltered(query: dict[str, str]) -> Answer:
        """The answer without the parameter tried (with `severity=all` where the query has it)."""
        rest = {k: v for k, v in query.items() if k == "severity"}
        key = frozenset(rest.items())
        if key not in plain:
            plain[key] = ask(rest)
        return plain[key]

    per_tower = [
        [{"subscription": v} for v in subscription_values(t)] * takes_subscription(endpoint, schema)
        + query_probes(endpoint, schema, t)
        for t in (run.own, run.other, None)
    ]
    for own, theirs, missing in zip(*per_tower, strict=True):
        missing_answer = ask(missing)
        run.compare(endpoint, "GET", ask(theirs), missing_answer, f"?{theirs}")
        # The positive control, from the leads (a member's rows are its lead's), where the parameter
        # does something: the caller's own value selects otherwise than a missing one.
        if run.caller.role != Role.LEAD or missing_answer == unfiltered(missing):
            continue
        if ask(own) != missing_answer:
            run.tally.positives += 1


def probe_fields(
    run: Run, endpoint: Endpoint, method: str, value: Any, body: Body, fields: dict[str, Any]
) -> None:
    """Each field naming an object, then all of them, with the other tower's objects and with missing
    ones: the same answer."""
    url = endpoint.url(value)

    def ask(names: tuple[str, ...], tower: Tower | None) -> Answer:
        data, tried = dict(fields), []
        for name in names:
            data = with_value(data, name, reference(name, tower))
            tried.append(str(reference(name, tower)))
        done = probe(run.client, endpoint, method, url, data=data, tried=tried)
        run.check(endpoint, method, done.answer, f"{data}")
        if done.changed and (done.answer.failed or done.answer.outcome != "allowed"):
            run.problems.append(
                f"{run.caller.label}: {method} {endpoint.name} {data}: a refused write changed the estate"
            )
        return done.answer

    variants = [(name,) for name in body.vary] + ([body.vary] if len(body.vary) > 1 else [])
    for names in variants:
        run.compare(endpoint, method, ask(names, run.other), ask(names, None), f"body {names}")


# --- the tests ------------------------------------------------------------------------------------------


def test_no_caller_learns_anything_of_the_other_tower(
    estate: Estate, routes: list[Endpoint], schema: dict[str, Any]
) -> None:
    started = time.monotonic()
    tally, problems = Tally(), list[str]()
    for caller in callers(estate):
        tally.callers.add(caller.label)
        tally.roles.add(caller.role_name)
        client = client_for(caller)
        take_baseline()  # after the login (which the audit log records)
        run_caller(Run(caller, client, estate, tally, problems), routes, schema)
    elapsed = time.monotonic() - started
    # Read by whoever records the figures (pytest -s shows them).
    print(
        f"\ntower access probes: {tally.probes} probes, {len(tally.routes)} routes, {len(tally.callers)} "
        f"callers ({len(tally.roles)} roles), {len(tally.leaks)} leaks, {tally.positives} positive "
        f"controls, {elapsed:.1f} s"
    )
    assert not tally.leaks, f"{len(tally.leaks)} leaks:\n" + "\n".join(tally.leaks)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert tally.routes == {endpoint.name for endpoint in routes}
    assert len(tally.roles) == 10  # anonymous, agent, no role, viewer, analyst, admin, 2 leads, 2 members


# --- a tower's answers do not move when only the other tower changes -------------------------------


def snapshot(
    client: Client, routes: list[Endpoint], caller: Caller, estate: Estate, only: tuple[str, ...] = ()
) -> dict[str, Answer]:
    """Every page and API answer the caller reads (or those of the `only` routes), with its own objects
    and the common ones, and its exports of every finding."""
    answers = {}
    values = [*run_ids(caller, estate), estate.shared.pk]
    for endpoint in routes:
        if "GET" not in endpoint.methods or expectation(endpoint, "GET", caller) != {"allowed"}:
            continue
        if only and endpoint.name not in only:
            continue
        if endpoint.takes_id:
            urls = [endpoint.url(value) for value in values]
        else:
            urls = [endpoint.url(estate.recommendation_key if endpoint.takes_key else None)]
        for url in urls:
            for query in ({}, {"severity": "all"}) if "findings" in endpoint.name else ({},):
                done = probe(client, endpoint, "GET", url, query=query)
                answers[f"{url}?{query}"] = done.answer
    return answers


def run_ids(caller: Caller, estate: Estate) -> list[int]:
    assert caller.tower is not None
    return [*caller.tower.probed_ids, estate.control_id, estate.rule_id]


def change_the_estate_of(tower: Tower, estate: Estate) -> None:
    """What a tower's day changes: an analyst gives it another failed rule of the shared machine, its
    people work on its items and comment, a new machine of its is scanned and assigned, its
    subscription and team are renamed, a group is made of its subscription."""
    shared_item = Assignment.objects.get(assessment__resource=estate.shared, finding__isnull=True)
    assign(
        user=estate.analyst,
        assessment=shared_item.assessment,
        finding=Finding.objects.get(resource=estate.shared, rule__rule_id__endswith=DMESG),
        team=tower.team,
        owner=tower.member_email,
        due=date(2027, 4, 4),
    )
    update_item(
        user=tower.lead,
        item=tower.item_on_shared,
        change=Change(status=AssignmentStatus.RESOLVED, comment=f"{tower.word} fixed it"),
    )
    update_item(user=tower.lead, item=tower.item_on_machine, change=Change(owner=tower.lead.email))
    machine = make_resource(tower.subscription, name=f"{tower.word}-vm3", tags={"tower": tower.word})
    scan_xccdf(machine.name, {SSH: "fail", DMESG: "fail"})
    created = Assignment.objects.create(
        assessment=machine.assessments.get(recommendation__key=MACHINE_KEY),
        team=tower.team,
        owner=tower.member_email,
        first_detected=timezone.now(),
        due_date=date(2027, 5, 5),
    )
    refresh_tower_summaries([created.assessment.resource_id])
    Comment.objects.create(assignment=tower.item_on_machine, author=tower.member, text="on it")
    tower.subscription.name = f"{tower.word}-sub-renamed"
    tower.subscription.save()
    Team.objects.filter(pk=tower.team.pk).update(name=f"{tower.word}-tower-renamed")
    SubscriptionGroup.objects.create(name=f"{tower.word}-group-2").subscriptions.add(tower.subscription)


# The changing tower's answers its day must move (the test's positive control). The findings' default
# (the critical findings: critical and high) holds none of these towers' medium rules, so only their
# `severity=all` answers move; the defaults are still among the answers that must not move.
CONTROL_ANSWERS = [
    ("my-items", {}),
    ("api-findings", {"severity": "all"}),
    ("api-findings-export-csv", {"severity": "all"}),
    ("api-assignments", {}),
]
CONTROL_ROUTES = tuple({name for name, _ in CONTROL_ANSWERS})


@pytest.mark.parametrize("changing", ["alpha", "bravo"])
def test_a_towers_answers_stay_the_same_when_only_the_other_tower_changes(
    estate: Estate, routes: list[Endpoint], changing: str
) -> None:
    changer: Tower = getattr(estate, changing)
    watcher = estate.other(changer)
    watching = Caller(f"{watcher.lead.username} (session)", "session", watcher.lead, tower=watcher)
    changed = Caller(f"{changer.lead.username} (session)", "session", changer.lead, tower=changer)
    client, control = client_for(watching), client_for(changed)
    before = snapshot(client, routes, watching, estate)
    control_before = snapshot(control, routes, changed, estate, CONTROL_ROUTES)

    change_the_estate_of(changer, estate)

    after = snapshot(client, routes, watching, estate)
    moved = [url for url in before if after.get(url) != before[url]]
    assert not moved, f"{watching.label}'s answers changed with {changing}'s estate: {moved}"
    assert len(before) > 30  # every page and API answer of the watcher, not a few
    # Positive control: the changing tower's own answers did move.
    control_after = snapshot(control, routes, changed, estate, CONTROL_ROUTES)
    moved_for_changer = {url for url, answer in control_before.items() if control_after.get(url) != answer}
    assert moved_for_changer == {f"{reverse(name)}?{query}" for name, query in CONTROL_ANSWERS}


# --- no redirect leaves the site -------------------------------------------------------------------

OFF_SITE = (
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "https:evil.example",
    "\t//evil.example",
)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_no_next_leaves_the_site(estate: Estate) -> None:
    make_user("gatekeeper", role=Role.VIEWER, password="gate-password-1")
    login, logout = reverse("login"), reverse("logout")
    for target in (*OFF_SITE, "/my-items/"):
        client = Client()
        sent = client.get(reverse("resource-list") + "?" + urlencode({"next": target}))
        assert sent.status_code == 302
        assert not leaves(sent["Location"]), sent["Location"]
        response = client.post(
            f"{login}?{urlencode({'next': target})}",
            {"username": "gatekeeper", "password": "gate-password-1", "next": target},
        )
        assert response.status_code == 302, target
        assert not leaves(response["Location"]), (target, response["Location"])
        out = client.post(logout, {"next": target})
        assert out.status_code == 302
        assert not leaves(out["Location"]), (target, out["Location"])
    # Positive control: a next on the site is followed.
    assert response["Location"] == "/my-items/"


def leaves(location: str) -> bool:
    return leaves_the_site(Answer(302, "", location, "", (), ""))
