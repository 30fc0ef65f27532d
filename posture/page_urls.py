"""URL patterns of the estate's pages: the resource list and the resource pages."""

from django.urls import path

from posture import views

urlpatterns = [
    path("resources/", views.resource_list, name="resource-list"),
    path("resources/<int:pk>/", views.resource_detail, name="resource"),
]
