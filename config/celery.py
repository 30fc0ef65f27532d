"""The Celery application, configured for real workers on Redis or in-process without one."""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("posture")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = {
    **settings.CELERY_BEAT_SCHEDULE,
    "weekly-digest": {
        "task": "governance.tasks.weekly_digest",
        "schedule": crontab(
            day_of_week=settings.POSTURE_DIGEST_DAY, hour=settings.POSTURE_DIGEST_HOUR, minute=0
        ),
    },
}
app.autodiscover_tasks()
