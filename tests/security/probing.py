"""The machinery of the tower access probes: callers, the routes and their methods, sending a probe and
reading its answer the same way every time, and what an answer must never hold.

An Answer is what a caller can observe of a response: status, content type, where it redirects, the
file name it offers, the body (an XLSX unzipped) and the messages it queues for the next page. Two
probes that differ only in the value being tried (another tower's id against one nothing has) are
compared with that value blanked out of both answers, and with CSRF tokens removed.
"""

import html
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from governance.models import (
    ApiToken,
    Assignment,
    Comment,
    Exemption,
    GovernanceRule,
    Membership,
    Team,
)
from governance.roles import Role, role_of
from posture.models import (
    EnrollmentToken,
    ImportJob,
    Resource,
    Subscription,
    SubscriptionGroup,
    Workspace,
)
from recommendations.models import Assessment, Finding
from tests.governance.test_access import ADMIN_PAGES, ADMIN_SITE, Route, project_routes
from tests.security.two_towers import ALPHA_IDS, BRAVO_IDS, Estate, Tower
from web.access import ACCESS, Access, allows

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WRITES = frozenset(METHODS) - {"GET"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_DATA = ("xl/worksheets/", "xl/sharedStrings", "docProps/")
# A session's CSRF secret, set as its cookie; writes send it back in the header (or not, to test CSRF).
CSRF_SECRET = "probe0csrf0secret0probe0csrf0sec"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
BLANK = "\u27e8X\u27e9"


@dataclass(frozen=True)
class Caller:
    label: str
    kind: str  # "anonymous", "agent", "session" or "token"
    user: User | None = None
    key: str = ""  # the API token or the agent's enrollment token
    tower: Tower | None = None

    @property
    def role(self) -> Role | None:
        return None if self.user is None else role_of(self.user)

    @property
    def role_name(self) -> str:
        """anonymous, agent, no role, or the role, a tower's lead and member by tower."""
        if self.user is None:
            return self.kind
        if self.role is None:
            return "no role"
        return f"{self.role.value} of {self.tower.word}" if self.tower else self.role.value


def callers(estate: Estate) -> list[Caller]:
    """Every kind of caller: anonymous, an agent, a user without a role, each role with a session and
    with an API token, the towers' leads and members for both towers."""
    found = [
        Caller("anonymous", "anonymous"),
        Caller("agent (enrollment token)", "agent", key=estate.agent_token),
        Caller("user without a role (session)", "session", estate.nobody),
    ]
    for user in (estate.viewer, estate.analyst, estate.admin):
        found.append(Caller(f"{user.username} (session)", "session", user))
        found.append(Caller(f"{user.username} (API token)", "token", user, key=estate.tokens[user.username]))
    for tower in estate.towers():
        for user, key in ((tower.lead, tower.lead_token), (tower.member, tower.member_token)):
            found.append(Caller(f"{user.username} (session)", "session", user, tower=tower))
            found.append(Caller(f"{user.username} (API token)", "token", user, key=key, tower=tower))
    return found


def client_for(caller: Caller) -> Client:
    """A client that enforces CSRF, logged in as the caller says."""
    headers = {}
    if caller.kind == "token":
        headers["authorization"] = f"Token {caller.key}"
    elif caller.kind == "agent":
        headers["authorization"] = f"Bearer {caller.key}"
    client = Client(enforce_csrf_checks=True, headers=headers)
    if caller.kind == "session":
        assert caller.user is not None
        client.force_login(caller.user)
    if caller.kind in ("session", "anonymous"):
        client.cookies["csrftoken"] = CSRF_SECRET
    return client


# --- routes -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A route with what it takes: its URL for an id (or key), its methods, and the path of its
    operations in the OpenAPI schema (which lists their query parameters)."""

    route: Route
    methods: tuple[str, ...]
    takes_id: bool
    takes_key: bool
    schema_path: str

    @property
    def name(self) -> str:
        return self.route.name

    @property
    def is_api(self) -> bool:
        return self.route.is_api

    def url(self, value: object = None) -> str:
        if self.route.name == ADMIN_SITE:
            return reverse(ADMIN_PAGES[0])
        assert self.route.url_name is not None
        kwargs: dict[str, object] = {}
        for argument in self.route.arguments:
            if argument in ("pk", "key"):
                kwargs[argument] = value
            elif argument == "name" and self.route.name == "agent-file":
                kwargs[argument] = value or "install.sh"
            else:
                raise AssertionError(
                    f"route {self.route.name!r} ({self.route.pattern}) takes {argument!r}: "
                    "tests/security/probing.py has no value for it (Endpoint.url)"
                )
        return reverse(self.route.url_name, kwargs=kwargs)


def endpoints(admin: Client, missing_id: int) -> list[Endpoint]:
    """Every route of the URL map, with the methods it answers: asked with TRACE, which every view
    refuses with a 405 naming them in Allow (a view that takes any method is tried with GET and POST)."""
    found = []
    for route in project_routes():
        takes_id = "pk" in route.arguments
        takes_key = "key" in route.arguments
        endpoint = Endpoint(route, ("GET",), takes_id, takes_key, "")
        if route.name != ADMIN_SITE:
            url = endpoint.url(missing_id if takes_id else "no-such-key" if takes_key else None)
            response = admin.generic("TRACE", url)
            allowed = response.get("Allow", "") if response.status_code == 405 else "GET, POST"
            methods = tuple(m for m in METHODS if m in {a.strip().upper() for a in allowed.split(",")})
            pattern = "/" + route.pattern.replace("<int:pk>", "{id}").replace("<slug:key>", "{key}")
            endpoint = Endpoint(route, methods, takes_id, takes_key, pattern)
        found.append(endpoint)
    return found


def expectation(endpoint: Endpoint, method: str, caller: Caller) -> set[str]:
    """What the route table (web/access.py) says the caller gets: "allowed", "refused" (401 or
    403) or "login" (sent to a login page, to come back)."""
    access = ACCESS[endpoint.name]
    if access.public:
        return {"allowed"}
    if caller.kind in ("agent", "token") and not endpoint.is_api:
        # Pages know sessions only: read, such a caller logs in; it has no CSRF cookie to write with
        # (a view checking CSRF after the login, the upload's, sends it to log in).
        return {"login"} if method == "GET" else {"refused", "login"}
    if caller.kind == "agent":
        # The table says which routes take agents; the view, which of their methods (upload, not list).
        return {"allowed", "refused"} if access.agents else {"refused"}
    if caller.kind == "anonymous":
        return {"refused"} if endpoint.is_api else {"login"}
    assert caller.user is not None
    if endpoint.is_api and method in WRITES and access.writes is not None:
        return {"allowed"} if allows(Access(access.writes), caller.user) else {"refused"}
    return {"allowed"} if allows(access, caller.user) else {"refused"}


# --- answers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    location: str
    filename: str
    messages: tuple[tuple[str, str], ...]  # (level, text)
    body: str

    @property
    def outcome(self) -> str:
        if self.status in (401, 403):
            return "refused"
        if self.status == 302 and re.search(r"/login/\?next=", self.location):
            return "login"
        return "allowed"

    @property
    def failed(self) -> bool:
        """A write the service or the view turned down: an error status or an error message."""
        return self.status >= 400 or any(level == "error" for level, _ in self.messages)

    def summary(self) -> str:
        said = "; ".join(text for _, text in self.messages) or self.body[:160].replace("\n", " ")
        return f"{self.status} {self.location or ''} {said}".strip()


def body_text(response: HttpResponseBase) -> str:
    """The body as text; an XLSX's cells and properties (its XML parts that hold data: the theme and
    styles are the same in every workbook)."""
    raw = response.getvalue()
    if response.get("Content-Type", "").startswith(XLSX):
        with zipfile.ZipFile(io.BytesIO(raw)) as workbook:
            names = sorted(n for n in workbook.namelist() if n.startswith(XLSX_DATA))
            return "\n".join(workbook.read(name).decode() for name in names)
    return raw.decode("utf-8", "replace")


def blank(text: str, values: Iterable[str]) -> str:
    """The text with each value (as sent, URL-quoted, HTML-escaped or in JSON; a `group:NAME` or
    `key=value` also by its last part, which messages quote) replaced by one mark."""
    wanted = {v for v in values if v}
    wanted |= {re.split("[:=]", v)[-1] for v in wanted if re.search("[:=].", v)}
    for value in sorted(wanted, key=len, reverse=True):
        forms = {value, quote(value, safe=""), quote_plus(value), html.escape(value), json.dumps(value)[1:-1]}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, BLANK)
    return text


def answer_of(response: HttpResponseBase, tried: Sequence[str]) -> Answer:
    request = getattr(response, "wsgi_request", None)
    queued = tuple((m.level_tag, str(m)) for m in get_messages(request)) if request is not None else ()
    disposition = response.get("Content-Disposition", "")
    return Answer(
        status=response.status_code,
        content_type=response.get("Content-Type", ""),
        location=blank(response.get("Location", ""), tried),
        filename=blank(disposition, tried),
        messages=tuple((level, blank(text, tried)) for level, text in queued),
        body=blank(CSRF_FIELD.sub("", body_text(response)), tried),
    )


def send(
    client: Client,
    endpoint: Endpoint,
    method: str,
    url: str,
    *,
    query: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
    csrf: bool = True,
) -> HttpResponseBase:
    headers = {"X-CSRFToken": CSRF_SECRET} if csrf else {}
    if method == "GET":
        response = client.get(url, query or {}, headers=headers)
    elif endpoint.is_api:
        response = client.generic(
            method, url, json.dumps(data or {}), content_type="application/json", headers=headers
        )
    elif method == "POST":
        response = client.post(url, data or {}, headers=headers)
    else:
        response = client.generic(method, url, "", headers=headers)
    # Messages queued by one probe would show on the next page: each probe starts without them.
    client.cookies.pop("messages", None)
    return response


# --- what a probe may change -------------------------------------------------------------------------

# What a write can change (sessions, login attempts and a token's last use are not the estate).
WATCHED: tuple[type[Model], ...] = (
    Assignment,
    Comment,
    AuditEvent,
    Exemption,
    GovernanceRule,
    Team,
    Membership,
    User,
    ApiToken,
    Subscription,
    SubscriptionGroup,
    SubscriptionGroup.subscriptions.through,
    Resource,
    Assessment,
    Finding,
    ImportJob,
    Workspace,
    EnrollmentToken,
)


def _fingerprint_sql() -> str:
    quote_name = connection.ops.quote_name
    parts = []
    for model in WATCHED:
        meta = model._meta
        stamps = [str(f.column) for f in meta.concrete_fields if getattr(f, "auto_now", False)]
        if model is Subscription:
            stamps = ["provisioning_workspace_id"]
        stamp = f"CAST(MAX({quote_name(stamps[0])}) AS TEXT)" if stamps else "CAST(NULL AS TEXT)"
        assert meta.pk is not None
        # Table and column names of the models, quoted: nothing here comes from a request.
        parts.append(
            f"SELECT '{meta.label}', COUNT(*), MAX({quote_name(str(meta.pk.column))}), {stamp} "  # noqa: S608
            f"FROM {quote_name(meta.db_table)}"
        )
    return " UNION ALL ".join(parts)


def fingerprint() -> tuple[tuple[Any, ...], ...]:
    """Rows, largest id and last change of every table a write could touch, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql())
        return tuple(tuple(row) for row in cursor.fetchall())


@dataclass
class Changed:
    answer: Answer
    changed: bool


# The estate as every probe finds it: each probe is rolled back, so it is read once (per test).
BASELINE: dict[str, tuple[tuple[Any, ...], ...]] = {}


def probe(
    client: Client,
    endpoint: Endpoint,
    method: str,
    url: str,
    *,
    tried: Sequence[str] = (),
    query: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
    csrf: bool = True,
) -> Changed:
    """One request, undone afterwards (a write is rolled back), with whether it changed the estate."""
    with transaction.atomic():
        response = send(client, endpoint, method, url, query=query, data=data, csrf=csrf)
        answer = answer_of(response, tried)
        changed = method in WRITES and fingerprint() != BASELINE["estate"]
        transaction.set_rollback(True)
    return Changed(answer, changed)


def take_baseline() -> None:
    BASELINE["estate"] = fingerprint()


# --- what must never show ----------------------------------------------------------------------------

ID_RANGES = {ALPHA_IDS: re.compile(r"(?<!\d)71\d{5}(?!\d)"), BRAVO_IDS: re.compile(r"(?<!\d)82\d{5}(?!\d)")}


@dataclass
class Tally:
    """What a run of probes found, for its summary and its assertions."""

    probes: int = 0
    leaks: list[str] = field(default_factory=list)
    positives: int = 0
    routes: set[str] = field(default_factory=set)
    callers: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)


def traces_of(other: Tower, answer: Answer) -> list[str]:
    """What of another tower an answer holds: its word (in every name, address and resource id of its)
    or one of its ids."""
    found = []
    for part in (answer.body, answer.location, answer.filename, *(text for _, text in answer.messages)):
        if other.word in part.lower():
            start = part.lower().index(other.word)
            found.append(f"{other.word!r} in {part[max(0, start - 60) : start + 60]!r}")
        match = ID_RANGES[other.first_id].search(part)
        if match:
            found.append(f"id {match.group()} in {part[max(0, match.start() - 60) : match.end() + 60]!r}")
    return found


def leaves_the_site(answer: Answer) -> bool:
    """Whether a redirect goes to another host, read as a browser reads it (tabs and line breaks
    dropped, a backslash as a slash)."""
    location = re.sub(r"[\t\r\n]", "", answer.location).strip().replace("\\", "/")
    parts = urlsplit(location)
    return bool(parts.scheme or parts.netloc) and parts.netloc != "testserver"
