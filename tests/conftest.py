"""Fixtures shared by all tests: a real Celery worker for the PostgreSQL pass and a headless Chromium.

- `@pytest.mark.worker` tests get a real worker (celery_worker_process) and a transactional database,
  since the worker reads the test database over its own connection. Without REDIS_URL and DATABASE_URL
  (the SQLite pass) they are skipped.
- Tests using `browser_page` are marked `browser` automatically. Without /usr/bin/chromium they are
  skipped, or fail when CI=true. With POSTURE_BROWSER_TESTS=worker-only (bin/test's PostgreSQL pass
  when both passes run side by side) only those that need a real worker run: the SQLite pass runs the
  others, and the two passes share two cores.
"""

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import Browser, Page, sync_playwright

from posture.models import Workspace
from tests.celery_worker import Worker, WorkerFailed

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


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: pytest-django orders tests by their django_db marker in its own hook, which must see ours.
    missing = [name for name in ("REDIS_URL", "DATABASE_URL") if not os.environ.get(name)]
    long_wanted = os.environ.get("POSTURE_LONG_TESTS") == "1"
    worker_browsers_only = os.environ.get("POSTURE_BROWSER_TESTS") == "worker-only"
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
            if worker_browsers_only and not item.get_closest_marker("worker"):
                reason = "browser test without a worker: the SQLite pass runs it"
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _start_worker_for_marked_tests(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("worker"):
        request.getfixturevalue("celery_worker_process")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real prefork worker on REDIS_URL, connected to the test database; yields its node name."""
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
        pytest.skip("needs REDIS_URL and DATABASE_URL (the PostgreSQL pass of bin/test)")
    worker = Worker(
        nodename=f"posture-test-{os.getpid()}@{socket.gethostname()}",
        log=tmp_path_factory.mktemp("celery") / "worker.log",
    )
    try:
        worker.start()
    except WorkerFailed as error:
        worker.stop()
        pytest.fail(str(error))
    try:
        yield worker.nodename
    finally:
        worker.stop()


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
