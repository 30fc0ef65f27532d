"""URL patterns: see governance/urls.py."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
