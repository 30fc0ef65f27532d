"""`manage.py healthcheck [--celery] [--timeout S]`: one line per component, exit status 1 if any is down."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from posture.health import check_database
from posture.tasks import ping


def describe(exc: Exception) -> str:
    # Driver messages span lines (psycopg adds hints); monitoring reads one line per component.
    return " ".join(f"{type(exc).__name__}: {exc}".split())


class Command(BaseCommand):
    help = "Check the database (SELECT 1) and, with --celery, that a worker answers a ping task."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--celery", action="store_true", help="also round-trip a ping task")
        parser.add_argument("--timeout", type=int, default=10, help="seconds to wait for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = []
        # A health check reports every failure as a line instead of a traceback, whatever raised it.
        try:
            database = check_database()
        except Exception as exc:
            failed.append("database")
            self.stdout.write(f"database: FAIL {describe(exc)}")
        else:
            self.stdout.write(f"database: ok ({database.vendor})")

        if options["celery"]:
            timeout: int = options["timeout"]
            try:
                # Without this probe an unreachable Redis stalls the result backend for ~20 s of retries.
                with ping.app.connection_for_write() as broker:
                    broker.ensure_connection(max_retries=1, timeout=timeout)
                # Expiring the ping keeps an unanswered one from being run by a worker that comes up later.
                result = ping.apply_async(expires=timeout, retry=False).get(timeout=timeout)
            except Exception as exc:
                failed.append("celery")
                self.stdout.write(f"celery: FAIL {describe(exc)}")
            else:
                self.stdout.write(f"celery: ok (worker {result['hostname']}, {result['database_vendor']})")

        if failed:
            raise CommandError(f"unhealthy: {', '.join(failed)}", returncode=1)
