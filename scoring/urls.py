"""URL patterns of the score pages: the dashboard and the control pages."""

from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("controls/<int:pk>/", views.control_detail, name="control"),
]
