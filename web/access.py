"""Who may use which route: the one table (ACCESS), and where it is enforced.

Every page and API route of the project is listed by its URL name (the admin site as "admin:*").
Pages are checked by AccessMiddleware, API routes by the RouteAccess permission of REST framework
(after it authenticated the caller, user or agent). A route missing from the table is refused, and a
test walks the URL map to keep the table complete.

What a tower's lead or member sees *inside* a route (only the tower's items and the resources they
concern) is the scope's business: governance/scoping.py.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.template.loader import render_to_string
from django.urls import ResolverMatch
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from governance.roles import Role, role_of
from web.authentication import AgentPrincipal

log = logging.getLogger("posture.access")


@dataclass(frozen=True)
class Access:
    roles: frozenset[Role] = frozenset()
    # Agents authenticated by an enrollment token (web/api/agents.py), API only.
    agents: bool = False
    # No login: the view holds nothing secret or authenticates the caller itself.
    public: bool = False
    # API only: the roles that may write (POST, PATCH...) where `roles` may read (GET); None = `roles`.
    writes: frozenset[Role] | None = None


EVERYONE = frozenset(Role)
READERS = frozenset({Role.ADMIN, Role.ANALYST, Role.VIEWER})  # estate-wide reading
WORKERS = frozenset({Role.ADMIN, Role.ANALYST, Role.LEAD, Role.MEMBER})  # act on items
ASSIGNERS = frozenset({Role.ADMIN, Role.ANALYST, Role.LEAD})
ANALYSTS = frozenset({Role.ADMIN, Role.ANALYST})
ADMINS = frozenset({Role.ADMIN})
PUBLIC = Access(public=True)

ACCESS: dict[str, Access] = {
    # Sign in and out; the agent's files for install commands.
    "login": PUBLIC,
    "logout": PUBLIC,
    "agent-file": PUBLIC,
    # The score and the evidence: everybody, within their scope.
    "dashboard": Access(EVERYONE),
    "chart-score-trend-csv": Access(EVERYONE),
    "chart-failed-rules-csv": Access(EVERYONE),
    "chart-top-recommendations-csv": Access(EVERYONE),
    "control": Access(EVERYONE),
    "recommendation": Access(EVERYONE),
    "recommendation-export-csv": Access(EVERYONE),
    "os-config": Access(EVERYONE),
    "rule": Access(EVERYONE),
    "baseline": Access(EVERYONE),
    # The catalog's rules as a checklist: rule facts only, the same for every role.
    "baseline-csv": Access(EVERYONE),
    "baseline-xlsx": Access(EVERYONE),
    # Quick fix scripts for the failed rules a user sees (a tower: its own machines' only).
    "quick-fix-bash": Access(EVERYONE),
    "quick-fix-ansible": Access(EVERYONE),
    "quick-fix-powershell": Access(EVERYONE),
    "resource-list": Access(EVERYONE),
    "resource": Access(EVERYONE),
    # The estate's set-up.
    "subscriptions": Access(READERS),
    "auto-provisioning": Access(ANALYSTS),
    "subscription-group-create": Access(ANALYSTS),
    "subscription-group-change": Access(ANALYSTS),
    "subscription-group-delete": Access(ANALYSTS),
    "agent-install-commands": Access(ANALYSTS),
    "imports": Access(ANALYSTS),
    "import": Access(ANALYSTS),
    # Governance.
    "my-items": Access(WORKERS),
    "item": Access(EVERYONE),
    "item-update": Access(WORKERS),
    "items-bulk": Access(WORKERS),
    "assign": Access(ASSIGNERS),
    "governance-report": Access(READERS),
    "governance-rules": Access(ANALYSTS),
    "exemptions": Access(READERS),
    "exemption-create": Access(ANALYSTS),
    "exemption-end": Access(ANALYSTS),
    # Exemption requests: a tower asks for its items, an analyst or admin decides (not their own).
    "exemption-requests": Access(EVERYONE),
    "exemption-request": Access(EVERYONE),
    "exemption-request-create": Access(WORKERS),
    "exemption-request-decide": Access(ANALYSTS),
    "audit-log": Access(ANALYSTS),
    "people": Access(ADMINS),
    "person-save": Access(ADMINS),
    "team-create": Access(ADMINS),
    # API.
    "api-score": Access(EVERYONE),
    "api-score-history": Access(EVERYONE),
    "api-imports": Access(ANALYSTS, agents=True),
    "api-import": Access(ANALYSTS, agents=True),
    "api-heartbeats": Access(agents=True),
    "api-schema": Access(EVERYONE),
    "api-docs": Access(EVERYONE),
    "api-controls": Access(EVERYONE),
    "api-control": Access(EVERYONE),
    "api-subscriptions": Access(READERS),
    "api-subscription": Access(READERS),
    "api-resources": Access(EVERYONE),
    "api-resource": Access(EVERYONE),
    "api-recommendations": Access(EVERYONE),
    "api-recommendation": Access(EVERYONE),
    "api-assessments": Access(EVERYONE),
    "api-assessment": Access(EVERYONE),
    "api-rules": Access(EVERYONE),
    "api-rule": Access(EVERYONE),
    "api-findings": Access(EVERYONE),
    "api-finding": Access(EVERYONE),
    # Exports of findings: everybody who reads them, within their scope (a tower: its own).
    "api-findings-export-csv": Access(EVERYONE),
    "api-findings-export-xlsx": Access(EVERYONE),
    "api-teams": Access(EVERYONE),
    "api-assignments": Access(EVERYONE, writes=ASSIGNERS),
    "api-assignment": Access(EVERYONE, writes=WORKERS),
    "api-assignment-comments": Access(EVERYONE, writes=WORKERS),
    "api-exemptions": Access(READERS, writes=ANALYSTS),
    "api-exemption": Access(READERS),
    "api-exemption-end": Access(ANALYSTS),
    "api-exemption-requests": Access(EVERYONE, writes=WORKERS),
    "api-exemption-request": Access(EVERYONE),
    "api-exemption-request-decide": Access(ANALYSTS),
    "api-governance-rules": Access(ANALYSTS),
    "api-governance-rule": Access(ANALYSTS),
    # Django's admin: users, teams, workspaces, tokens.
    "admin:*": Access(ADMINS),
}


def route_name(match: ResolverMatch) -> str:
    if match.namespace == "admin":
        return "admin:*"
    return match.view_name


def allows(access: Access, user: User | AnonymousUser) -> bool:
    if access.public:
        return True
    role = role_of(user)
    return role is not None and role in access.roles


def access_for(match: ResolverMatch | None) -> Access | None:
    if match is None:
        return None
    name = route_name(match)
    found = ACCESS.get(name)
    if found is None:
        log.error("route %r is missing from the access table (web/access.py): refused", name)
    return found


def is_api(match: ResolverMatch) -> bool:
    return match.route.startswith("api/")


class AccessMiddleware:
    """Refuses a page to a role the table does not name (403); API routes are left to RouteAccess."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or is_api(match):
            return None
        access = access_for(match)
        if access is None:
            return _refusal(request, "This page is not in the access table.")
        if access.public or not request.user.is_authenticated:
            # Anonymous callers of a non-public page are sent to the login by LoginRequiredMiddleware.
            return None
        if not allows(access, request.user):
            return _refusal(request, "Your role does not give access to this page.")
        return None


class RouteAccess(BasePermission):
    """REST framework's side of the table: users by role, agents where the route accepts them."""

    message = "your role does not give access to this API route"

    def has_permission(self, request: Request, view: Any) -> bool:
        access = access_for(request.resolver_match)
        if access is None:
            return False
        if access.public:
            return True
        if isinstance(request.user, AgentPrincipal):
            return access.agents
        if access.writes is not None and request.method not in SAFE_METHODS:
            return allows(Access(access.writes), request.user)
        return allows(access, request.user)


def _refusal(request: HttpRequest, message: str) -> HttpResponse:
    """A 403 as a page of the site (title, language, navigation), not a bare line of text."""
    return HttpResponseForbidden(render_to_string("403.html", {"message": message}, request=request))
