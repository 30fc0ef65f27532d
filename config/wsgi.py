"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

import config.celery  # noqa: E402, F401  (views enqueue tasks; the URL map loads it too, but only at the first request)
