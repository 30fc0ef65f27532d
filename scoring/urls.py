"""URL patterns of the score pages: the dashboard, the CSV of each of its charts, and the control pages."""

from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("charts/score-trend.csv", views.score_trend_csv, name="chart-score-trend-csv"),
    path("charts/failed-rules.csv", views.failed_rules_csv, name="chart-failed-rules-csv"),
    path(
        "charts/top-recommendations.csv",
        views.top_recommendations_csv,
        name="chart-top-recommendations-csv",
    ),
    path("controls/<int:pk>/", views.control_detail, name="control"),
]
