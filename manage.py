#!/usr/bin/env python
"""Django's command-line entry point for Posture."""

import os
import sys

# Commands that enqueue no Celery task, so start without loading Celery (see config/__init__.py).
WITHOUT_CELERY = {"ingest"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] and sys.argv[1] not in WITHOUT_CELERY:
        import config.celery  # noqa: F401  (tasks are sent through the configured app)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
