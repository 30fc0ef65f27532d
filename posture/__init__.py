"""Posture: the project package and the estate (subscriptions, resources)."""

from posture.celery import app as celery_app

__all__ = ("celery_app",)
