"""URL patterns of exemptions and governance rules: see governance/urls.py."""

from django.urls import path

from governance import exemption_views, rule_views

urlpatterns = [
    path("exemptions/", exemption_views.exemption_list, name="exemptions"),
    path("exemptions/new/", exemption_views.exemption_create, name="exemption-create"),
    path("exemptions/<int:pk>/end/", exemption_views.exemption_end, name="exemption-end"),
    path("governance/rules/", rule_views.governance_rules, name="governance-rules"),
]
