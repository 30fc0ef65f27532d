"""manage.py healthcheck and the ping task, in-process and through a real worker."""

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection

from config.celery import app as celery_app
from posture.tasks import ping


def run_healthcheck(*args: str) -> list[str]:
    out = StringIO()
    call_command("healthcheck", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def eager_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process tasks, as on the SQLite pass and under bin/run, whatever REDIS_URL says."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


@pytest.mark.django_db
def test_database_check_passes() -> None:
    assert run_healthcheck() == [f"database: ok ({connection.vendor})"]


@pytest.mark.django_db
def test_unreachable_database_is_reported_with_exit_status_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("posture.management.commands.healthcheck.check_database", refuse)
    out = StringIO()
    with pytest.raises(CommandError, match="unhealthy: database") as excinfo:
        call_command("healthcheck", stdout=out)
    assert excinfo.value.returncode == 1
    assert out.getvalue() == "database: FAIL OperationalError: connection refused\n"


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_celery_check_runs_the_ping_task_in_process_without_a_worker() -> None:
    lines = run_healthcheck("--celery")
    assert lines[0] == f"database: ok ({connection.vendor})"
    assert lines[1].startswith("celery: ok (worker ")
    assert lines[1].endswith(f", {connection.vendor})")


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_failing_ping_task_makes_the_celery_check_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("posture.tasks.check_database", refuse)
    out = StringIO()
    with pytest.raises(CommandError, match="unhealthy: celery"):
        call_command("healthcheck", "--celery", stdout=out)
    assert out.getvalue().splitlines()[1] == "celery: FAIL OperationalError: connection refused"


@pytest.mark.django_db
def test_unreachable_broker_fails_fast_instead_of_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    out = StringIO()
    started = time.monotonic()
    with pytest.raises(CommandError, match="unhealthy: celery"):
        call_command("healthcheck", "--celery", "--timeout", "2", stdout=out)
    assert time.monotonic() - started < 10
    assert out.getvalue().splitlines()[1].startswith("celery: FAIL OperationalError: ")


@pytest.mark.worker
def test_ping_round_trips_through_the_real_worker_on_postgresql(celery_worker_process: str) -> None:
    assert run_healthcheck("--celery", "--timeout", "30") == [
        "database: ok (postgresql)",
        f"celery: ok (worker {celery_worker_process}, postgresql)",
    ]


@pytest.mark.worker
def test_worker_uses_the_test_database(celery_worker_process: str) -> None:
    result = ping.delay().get(timeout=30)
    assert result == {
        "hostname": celery_worker_process,
        "database_vendor": "postgresql",
        "database": connection.settings_dict["NAME"],
    }
