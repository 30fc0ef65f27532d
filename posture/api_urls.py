"""URL patterns of the REST API, /api/v1/: one module of views per area; every name is in ACCESS."""

from django.urls import path

from governance import api as governance_api
from posture import api_estate
from recommendations import api as recommendations_api
from scoring import api as scoring_api

urlpatterns = [
    # The score.
    path("score/", scoring_api.ScoreView.as_view(), name="api-score"),
    path("score/history/", scoring_api.ScoreHistory.as_view(), name="api-score-history"),
    path("controls/", scoring_api.ControlList.as_view(), name="api-controls"),
    path("controls/<int:pk>/", scoring_api.ControlDetail.as_view(), name="api-control"),
    # The estate.
    path("subscriptions/", api_estate.SubscriptionList.as_view(), name="api-subscriptions"),
    path("subscriptions/<int:pk>/", api_estate.SubscriptionDetail.as_view(), name="api-subscription"),
    path("resources/", api_estate.ResourceList.as_view(), name="api-resources"),
    path("resources/<int:pk>/", api_estate.ResourceDetail.as_view(), name="api-resource"),
    path("imports/", api_estate.ImportList.as_view(), name="api-imports"),
    path("imports/<int:pk>/", api_estate.ImportDetail.as_view(), name="api-import"),
    path("heartbeats/", api_estate.Heartbeat.as_view(), name="api-heartbeats"),
    # The evidence.
    path("recommendations/", recommendations_api.RecommendationList.as_view(), name="api-recommendations"),
    path(
        "recommendations/<slug:key>/",
        recommendations_api.RecommendationDetail.as_view(),
        name="api-recommendation",
    ),
    path("assessments/", recommendations_api.AssessmentList.as_view(), name="api-assessments"),
    path("assessments/<int:pk>/", recommendations_api.AssessmentDetail.as_view(), name="api-assessment"),
    path("rules/", recommendations_api.RuleList.as_view(), name="api-rules"),
    path("rules/<int:pk>/", recommendations_api.RuleDetail.as_view(), name="api-rule"),
    path("findings/", recommendations_api.FindingList.as_view(), name="api-findings"),
    path("findings/<int:pk>/", recommendations_api.FindingDetail.as_view(), name="api-finding"),
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
    path("governance-rules/", governance_api.GovernanceRuleList.as_view(), name="api-governance-rules"),
    path(
        "governance-rules/<int:pk>/",
        governance_api.GovernanceRuleDetail.as_view(),
        name="api-governance-rule",
    ),
]
