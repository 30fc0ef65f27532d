"""The URL map of the REST API, /api/v1/: one module of views per area; every name is in web/access.py."""

from django.urls import path

from web.api import estate, evidence, exemption_requests, exports, score
from web.api import governance as governance_api

urlpatterns = [
    # The score.
    path("score/", score.ScoreView.as_view(), name="api-score"),
    path("score/history/", score.ScoreHistory.as_view(), name="api-score-history"),
    path("controls/", score.ControlList.as_view(), name="api-controls"),
    path("controls/<int:pk>/", score.ControlDetail.as_view(), name="api-control"),
    # The estate.
    path("subscriptions/", estate.SubscriptionList.as_view(), name="api-subscriptions"),
    path("subscriptions/<int:pk>/", estate.SubscriptionDetail.as_view(), name="api-subscription"),
    path("resources/", estate.ResourceList.as_view(), name="api-resources"),
    path("resources/<int:pk>/", estate.ResourceDetail.as_view(), name="api-resource"),
    path("imports/", estate.ImportList.as_view(), name="api-imports"),
    path("imports/<int:pk>/", estate.ImportDetail.as_view(), name="api-import"),
    path("heartbeats/", estate.Heartbeat.as_view(), name="api-heartbeats"),
    # The evidence.
    path("recommendations/", evidence.RecommendationList.as_view(), name="api-recommendations"),
    path(
        "recommendations/<slug:key>/",
        evidence.RecommendationDetail.as_view(),
        name="api-recommendation",
    ),
    path("assessments/", evidence.AssessmentList.as_view(), name="api-assessments"),
    path("assessments/<int:pk>/", evidence.AssessmentDetail.as_view(), name="api-assessment"),
    path("rules/", evidence.RuleList.as_view(), name="api-rules"),
    path("rules/<int:pk>/", evidence.RuleDetail.as_view(), name="api-rule"),
    path("findings/", evidence.FindingList.as_view(), name="api-findings"),
    path("findings/export.csv", exports.FindingCsv.as_view(), name="api-findings-export-csv"),
    path("findings/export.xlsx", exports.FindingXlsx.as_view(), name="api-findings-export-xlsx"),
    path("findings/<int:pk>/", evidence.FindingDetail.as_view(), name="api-finding"),
    # Governance.
    path("teams/", governance_api.TeamList.as_view(), name="api-teams"),
    path("assignments/", governance_api.AssignmentList.as_view(), name="api-assignments"),
    path("assignments/<int:pk>/", governance_api.AssignmentDetail.as_view(), name="api-assignment"),
    path(
        "assignments/<int:pk>/comments/",
        governance_api.CommentList.as_view(),
        name="api-assignment-comments",
    ),
    path("exemptions/", governance_api.ExemptionList.as_view(), name="api-exemptions"),
    path("exemptions/<int:pk>/", governance_api.ExemptionDetail.as_view(), name="api-exemption"),
    path("exemptions/<int:pk>/end/", governance_api.ExemptionEnd.as_view(), name="api-exemption-end"),
    path(
        "exemption-requests/",
        exemption_requests.ExemptionRequestList.as_view(),
        name="api-exemption-requests",
    ),
    path(
        "exemption-requests/<int:pk>/",
        exemption_requests.ExemptionRequestDetail.as_view(),
        name="api-exemption-request",
    ),
    path(
        "exemption-requests/<int:pk>/decide/",
        exemption_requests.ExemptionRequestDecide.as_view(),
        name="api-exemption-request-decide",
    ),
    path("governance-rules/", governance_api.GovernanceRuleList.as_view(), name="api-governance-rules"),
    path(
        "governance-rules/<int:pk>/",
        governance_api.GovernanceRuleDetail.as_view(),
        name="api-governance-rule",
    ),
]
