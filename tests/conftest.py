"""Fixtures shared by all tests: a real Celery worker for the PostgreSQL pass and a headless Chromium.

- `@pytest.mark.worker` tests get a real worker (celery_worker_process) and a transactional database,
  since the worker reads the test database over its own connection. Without REDIS_URL and DATABASE_URL
  (the SQLite pass) they are skipped.
- Tests using `browser_page` are marked `browser` automatically. Without /usr/bin/chromium they are
  skipped, or fail when CI=true.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright

from posture.celery import app
from posture.models import Workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WORKER_START_SECONDS = 60


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: pytest-django orders tests by their django_db marker in its own hook, which must see ours.
    missing = [name for name in ("REDIS_URL", "DATABASE_URL") if not os.environ.get(name)]
    long_wanted = os.environ.get("POSTURE_LONG_TESTS") == "1"
    for item in items:
        if item.get_closest_marker("long") and not long_wanted:
            item.add_marker(pytest.mark.skip(reason="long variant: set POSTURE_LONG_TESTS=1 to run it"))
        if item.get_closest_marker("worker"):
            item.add_marker(pytest.mark.django_db(transaction=True))
            if missing:
                reason = f"needs a real Celery worker: PostgreSQL pass only ({' and '.join(missing)} unset)"
                item.add_marker(pytest.mark.skip(reason=reason))
        if "browser_page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _start_worker_for_marked_tests(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("worker"):
        request.getfixturevalue("celery_worker_process")


def database_url_for_test_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real prefork worker on REDIS_URL, connected to the test database; yields its node name."""
    redis_url = os.environ.get("REDIS_URL", "")
    database_url = os.environ.get("DATABASE_URL", "")
    if not redis_url or not database_url:
        pytest.skip("needs REDIS_URL and DATABASE_URL (the PostgreSQL pass of bin/test)")

    nodename = f"posture-test-{os.getpid()}@{socket.gethostname()}"
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        # pytest-django renamed the database (test_posture) in this process only.
        "DATABASE_URL": database_url_for_test_database(database_url, str(connection.settings_dict["NAME"])),
        "DJANGO_SETTINGS_MODULE": "posture.settings",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "posture",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "-Q",
        "celery",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        "-n",
        nodename,
    ]
    with log.open("wb") as output:
        # Its own process group, so the prefork children can be stopped with it if it hangs.
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while not app.control.ping(destination=[nodename], timeout=0.5):
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited with status {process.returncode}:\n{tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the Celery worker did not answer a ping in {WORKER_START_SECONDS}s:\n{tail(log)}"
                )
        yield nodename
    finally:
        # Stopped before pytest-django drops the test database, which fails while the worker is connected.
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright, shared by the session."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: BROWSER TESTS CANNOT RUN (apt-get install chromium)"
        if in_ci():
            pytest.fail(message + " and CI=true")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A fresh page in its own context (no cookies shared between tests)."""
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


# The moment the fixture inventory (tests/fixtures/inventory/estate.csv) was exported: its agents'
# heartbeats are minutes old then, and its workspace ws-prod is registered.
FIXTURE_NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def fixture_time(db: None) -> Iterator[None]:
    Workspace.objects.get_or_create(workspace_id="ws-prod", defaults={"name": "Production"})
    with time_machine.travel(FIXTURE_NOW, tick=False):
        yield
