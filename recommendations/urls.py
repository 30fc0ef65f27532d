"""URL patterns of the recommendation pages and the OS-configuration pages."""

from django.urls import path

from recommendations import quick_fix_views, rule_views, views

urlpatterns = [
    path("recommendations/<slug:key>/", views.recommendation_detail, name="recommendation"),
    path("os-configuration/", rule_views.os_config_overview, name="os-config"),
    path("rules/<int:pk>/", rule_views.rule_detail, name="rule"),
    path("baseline/", rule_views.baseline, name="baseline"),
    path("os-configuration/quick-fix/bash/", quick_fix_views.quick_fix_bash, name="quick-fix-bash"),
    path("os-configuration/quick-fix/ansible/", quick_fix_views.quick_fix_ansible, name="quick-fix-ansible"),
]
