"""App configuration of the estate."""

from django.apps import AppConfig


class PostureConfig(AppConfig):
    name = "posture"
    verbose_name = "Estate"
