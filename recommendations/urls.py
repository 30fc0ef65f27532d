"""URL patterns of the recommendation pages."""

from django.urls import path

from recommendations import views

urlpatterns = [
    path("recommendations/<slug:key>/", views.recommendation_detail, name="recommendation"),
]
