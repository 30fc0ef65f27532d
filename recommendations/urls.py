"""URL patterns of the recommendation pages and the OS-configuration pages."""

from django.urls import path

from recommendations import rule_views, views

urlpatterns = [
    path("recommendations/<slug:key>/", views.recommendation_detail, name="recommendation"),
    path("os-configuration/", rule_views.os_config_overview, name="os-config"),
    path("rules/<int:pk>/", rule_views.rule_detail, name="rule"),
    path("baseline/", rule_views.baseline, name="baseline"),
]
