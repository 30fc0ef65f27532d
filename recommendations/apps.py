"""App configuration of the recommendation catalog and assessments."""

from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
