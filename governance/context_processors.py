"""What every page needs to know of the user's role: which governance links and forms to show.

Read from the route table (governance/access.py), so a link shows exactly when its page opens.
"""

from typing import Any

from django.http import HttpRequest

from governance.access import ACCESS, allows
from governance.roles import role_of
from governance.selectors import assignable_teams


def governance(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_role": role_of(user),
        "may_open_my_items": allows(ACCESS["my-items"], user),
        "may_open_governance_report": allows(ACCESS["governance-report"], user),
        "may_assign": allows(ACCESS["assign"], user),
        # A queryset: only read by the pages that show an Assign form.
        "assign_teams": assignable_teams(user),
    }
