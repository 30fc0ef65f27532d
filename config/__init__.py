"""The project package: settings, the URL map, the Celery application and the WSGI entry point.

The Celery application (config/celery.py) is not imported here, so that a command that enqueues no
task (`manage.py ingest`) does not load Celery: the URL map (every web process), the WSGI entry point,
manage.py for the other commands and the worker (`celery -A config`, which finds config.celery) load it.
"""
