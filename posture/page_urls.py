"""URL patterns of the estate's pages: the resource list, the resource pages and the imports."""

from django.urls import path

from posture import import_views, views

urlpatterns = [
    path("resources/", views.resource_list, name="resource-list"),
    path("resources/<int:pk>/", views.resource_detail, name="resource"),
    path("imports/", import_views.import_list, name="imports"),
    path("imports/<int:pk>/", import_views.import_detail, name="import"),
]
