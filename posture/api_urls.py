"""URL patterns of the REST API, /api/v1/."""

from django.urls import path

from posture.agent_api import HeartbeatView
from posture.api import ImportDetailView, ImportListView
from scoring.api import ScoreView

urlpatterns = [
    path("score/", ScoreView.as_view(), name="api-score"),
    path("imports/", ImportListView.as_view(), name="api-imports"),
    path("imports/<int:pk>/", ImportDetailView.as_view(), name="api-import"),
    path("heartbeats/", HeartbeatView.as_view(), name="api-heartbeats"),
]
