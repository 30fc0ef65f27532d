"""URL patterns of governance: items and the report, exemptions and rules, the audit log."""

from django.urls import include, path

urlpatterns = [
    path("", include("governance.item_urls")),
    path("", include("governance.exemption_urls")),
    path("", include("governance.audit_urls")),
    path("", include("governance.people_urls")),
    path("", include("governance.export_urls")),
]
