"""Teams and roles, governance rules, assignments and exemptions."""

from governance.models.api_tokens import ApiToken
from governance.models.assignments import Assignment, AssignmentStatus, Comment
from governance.models.exemption_requests import ExemptionRequest, RequestCategory, RequestState
from governance.models.exemptions import Exemption, ExemptionCategory
from governance.models.rules import GovernanceRule, Timeframe
from governance.models.teams import Membership, Team

__all__ = [
    "ApiToken",
    "Assignment",
    "AssignmentStatus",
    "Comment",
    "Exemption",
    "ExemptionCategory",
    "ExemptionRequest",
    "GovernanceRule",
    "Membership",
    "RequestCategory",
    "RequestState",
    "Team",
    "Timeframe",
]
