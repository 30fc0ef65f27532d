"""What every page needs to know of the user's role: which governance links and forms to show.

Read from the route table (web/access.py), so a link shows exactly when its page opens.
"""

from typing import Any

from django.http import HttpRequest

from governance.roles import TOWER_ROLES, role_of, teams_of
from governance.selectors import assignable_teams
from web.access import ACCESS, allows

# The governance pages' own tabs, in order.
GOVERNANCE_TABS = (
    ("governance-report", "Report"),
    ("exemptions", "Exemptions"),
    ("exemption-requests", "Exemption requests"),
    ("governance-rules", "Rules"),
    ("audit-log", "Audit log"),
)


def governance(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = request.resolver_match.url_name if request.resolver_match else ""
    return {
        "user_role": role_of(user),
        # A tower's members see their tower's items only: the header says which tower.
        "user_towers": [t.name for t in teams_of(user)] if role_of(user) in TOWER_ROLES else [],
        "may_open_my_items": allows(ACCESS["my-items"], user),
        "may_open_governance_report": allows(ACCESS["governance-report"], user),
        "may_assign": allows(ACCESS["assign"], user),
        # (url name, label, is the current page) of the governance tabs the user may open.
        "governance_tabs": [
            (name, label, current == name) for name, label in GOVERNANCE_TABS if allows(ACCESS[name], user)
        ],
        "may_install_agents": allows(ACCESS["agent-install-commands"], user),
        "may_open_subscriptions": allows(ACCESS["subscriptions"], user),
        "may_open_imports": allows(ACCESS["imports"], user),
        "may_manage_people": allows(ACCESS["people"], user),
        # A queryset: only read by the pages that show an Assign form.
        "assign_teams": assignable_teams(user),
    }
