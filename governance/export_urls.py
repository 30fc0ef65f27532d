"""URL patterns of the findings exports (API routes under /api/v1/): see governance/urls.py."""

from django.urls import path

from governance import export_views

urlpatterns = [
    path("api/v1/findings/export.csv", export_views.FindingCsv.as_view(), name="api-findings-export-csv"),
    path("api/v1/findings/export.xlsx", export_views.FindingXlsx.as_view(), name="api-findings-export-xlsx"),
]
