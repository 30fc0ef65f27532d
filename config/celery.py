"""The Celery application, configured for real workers on Redis or in-process without one."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("posture")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
