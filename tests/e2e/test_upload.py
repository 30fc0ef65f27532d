"""In Chromium: upload a real OpenSCAP result, watch its import finish, and drill down from the
OS-configuration overview to one machine's actual value for a failed rule.

Two variants: an eager one (the import runs inside the upload request; on the PostgreSQL pass Celery is
made eager for the test) and, on the PostgreSQL pass, one where a real worker runs the import while
the page's progress bar follows it through the imports API.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect
from pytest_django.live_server_helper import LiveServer

from config.celery import app as celery_app
from tests.factories import make_user
from tests.scans import RHEL9

PASSWORD = "upload-password-1"
CRYPTO_TITLE = "Configure System Cryptography Policy"
CRYPTO_ACTUAL = "not found in /etc/crypto-policies/config; not found in /etc/crypto-policies/state/current"
IMPORT_SECONDS = 90


@pytest.fixture
def eager_celery() -> Iterator[None]:
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


def log_in(page: Page, live_server: LiveServer) -> None:
    make_user("analyst", password=PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Imports", exact=True)).to_be_visible()


def upload(page: Page, path: Path) -> str:
    """Upload through the form; returns the job's status as its page first showed it."""
    page.get_by_label("File", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"), timeout=IMPORT_SECONDS * 1000)
    return str(page.locator("#job-status").get_attribute("data-status"))


def wait_until_done(page: Page) -> None:
    # The results are rendered by the server: seeing them means the page reloaded after the job ended.
    expect(page.locator("#job-results")).to_be_visible(timeout=IMPORT_SECONDS * 1000)
    expect(page.locator("#job-status")).to_have_attribute("data-status", "done")
    expect(page.locator("#job-status")).to_have_text("Done")
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-results")).to_contain_text("Findings opened")


def drill_down(page: Page, screenshots: str) -> None:
    page.get_by_role("link", name="OS configuration", exact=True).click()
    count = page.locator("#failed-count")
    expect(count).to_have_text("39")
    expect(page.locator("#affected-machines")).to_have_text("1")
    page.screenshot(path=f"/tmp/posture-os-config{screenshots}.png", full_page=True)

    count.click()
    expect(page).to_have_url(re.compile(r"/os-configuration/#failed-rules$"))
    expect(page.locator("#failed-rules .pagination .range")).to_contain_text("of 39")
    row = page.locator("#failed-rules tbody tr", has_text="CCE-83450-7")
    expect(row.locator("a.count")).to_have_text("1")
    row.get_by_role("link", name=CRYPTO_TITLE, exact=True).click()

    expect(page.get_by_role("heading", name=CRYPTO_TITLE, exact=True)).to_be_visible()
    machine = page.locator("#machines tbody tr").first
    expect(machine.get_by_role("link")).to_have_text("vm")
    actual = machine.locator("td.actual")
    actual.locator("summary").click()  # long values open on demand
    expect(actual.locator(".full-value")).to_be_visible()
    expect(actual.locator(".full-value")).to_contain_text(CRYPTO_ACTUAL)
    expect(machine.locator("td.expected")).to_have_text("The system-provided crypto policies: FIPS")
    page.screenshot(path=f"/tmp/posture-rule{screenshots}.png", full_page=True)


def test_upload_a_scan_and_drill_down_to_an_actual_value(
    live_server: LiveServer, browser_page: Page, settings, tmp_path, eager_celery
) -> None:
    settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")
    page = browser_page
    log_in(page, live_server)
    upload(page, RHEL9)
    wait_until_done(page)
    drill_down(page, screenshots="")


@pytest.mark.worker
def test_a_real_worker_imports_the_upload_while_the_progress_bar_follows(
    live_server: LiveServer, browser_page: Page
) -> None:
    page = browser_page
    polls: list[str] = []

    def record(request: Request) -> None:
        if "/api/v1/imports/" in request.url:
            polls.append(request.url)

    page.on("request", record)
    log_in(page, live_server)
    first_status = upload(page, RHEL9)
    wait_until_done(page)
    if first_status != "done":
        # The page was shown before the worker finished: it followed the job through the API.
        assert polls, "the progress bar never asked the imports API"
        assert all(re.search(r"/api/v1/imports/\d+/$", url) for url in polls)
    drill_down(page, screenshots="-worker")
