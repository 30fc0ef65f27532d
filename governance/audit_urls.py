"""URL patterns of the audit log page: see governance/urls.py."""

from django.urls import path

from governance import audit_views

urlpatterns = [
    path("audit/", audit_views.audit_log, name="audit-log"),
]
