"""App configuration of the import pipeline: files and agents' evidence, through every stage to the score."""

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    label = "intake"
    verbose_name = "Intake"
