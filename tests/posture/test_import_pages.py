"""The upload page and the import job page: the form, its errors, the redirect, the job's outcome."""

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config.celery import app as celery_app
from intake.jobs import submit_upload
from posture.importers.detect import FORMATS
from posture.models import ImportJob, Resource
from recommendations.models import Finding
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import OSCAP, XSS

pytestmark = pytest.mark.django_db

DEBIAN = OSCAP / "debian-anssi-high.arf.xml.xz"
HOSTILE = OSCAP / "bad" / "external-entity.xccdf.xml"


@pytest.fixture(autouse=True)
def uploads(tmp_path, settings):
    settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")
    # Progress is cached by job id, and ids start again in every test.
    cache.clear()


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user("alice"))
    return client


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """POST the upload form and run the queued import here, as test_import_jobs does for the API."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True

    def post(client: Client, path: Path | None, url: str = "/imports/", **fields: str):
        data: dict[str, object] = dict(fields)
        if path is not None:
            data["file"] = SimpleUploadedFile(path.name, path.read_bytes())
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    yield post
    celery_app.conf.task_always_eager = eager


def alert(html: str) -> str:
    found = re.search(r'<div class="alert" role="alert">(.*?)</div>', html, re.S)
    assert found is not None, "no alert on the page"
    return unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_upload_page_has_the_form_and_the_formats(user_client: Client):
    html = user_client.get("/imports/").content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    form = re.search(r'<form class="upload".*?</form>', html, re.S)
    assert form is not None
    assert re.findall(r'<option value="([^"]*)"', form.group(0)) == ["", *FORMATS]
    assert 'name="resource"' in html
    assert "Nothing has been uploaded yet." in html


def test_upload_redirects_to_the_job_which_shows_what_changed(user_client: Client, upload):
    response = upload(user_client, DEBIAN)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/"
    page = user_client.get(response["Location"])
    html = page.content.decode()
    assert "Uploaded debian-anssi-high.arf.xml.xz." in html
    assert "<dt>Already imported</dt><dd>no</dd>" in html
    assert 'data-status="done"' in html
    assert '<progress id="job-progress" max="100" value="100"' in html
    assert "<dt>Findings opened</dt><dd>2</dd>" in html
    machine = Resource.objects.get(name="vm")
    assert f'href="/resources/{machine.pk}/#os-config">vm</a>' in html
    assert "<strong>0 / 0</strong> (0%)" in html
    assert "<strong>0 / 4</strong> (0%)" in html
    assert '<span class="tag result-fail">fail 2</span>' in html
    assert "import_progress.js" not in html  # a finished job is not followed
    data = re.search(r'id="import-job" type="application/json">(.*?)</script>', html)
    assert data is not None
    follow = json.loads(data.group(1))
    assert follow["job"]["status"] == "done"
    assert follow["api"] == f"/api/v1/imports/{job.pk}/"


def test_upload_keeps_the_scope_in_the_redirect(user_client: Client, upload):
    make_subscription("Production")
    response = upload(user_client, DEBIAN, url="/imports/?subscription=Production")
    assert response["Location"] == f"/imports/{ImportJob.objects.get().pk}/?subscription=Production"


def test_the_same_file_again_goes_to_its_job_with_a_message(user_client: Client, upload):
    first = upload(user_client, DEBIAN)
    user_client.get(first["Location"])  # reads the first message
    again = upload(user_client, DEBIAN)
    assert again["Location"] == first["Location"]
    assert ImportJob.objects.count() == 1
    html = user_client.get(again["Location"]).content.decode()
    assert "This file was uploaded before" in html


def test_a_queued_job_is_followed_by_the_progress_script(user_client: Client):
    job = submit_upload(chunks=[DEBIAN.read_bytes()], name=DEBIAN.name, user=None).job
    html = user_client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-status="queued"' in html
    assert '<progress id="job-progress" max="100" value="0"' in html
    assert "/static/posture/import_progress.js" in html
    assert "What changed" not in html


def test_a_failed_import_shows_its_error(user_client: Client, upload):
    response = upload(user_client, HOSTILE)
    html = user_client.get(response["Location"]).content.decode()
    assert 'data-status="failed"' in html
    assert "declares a DTD" in html
    assert "Nothing of the file was stored." in html


@pytest.mark.parametrize(
    ("fields", "with_file", "message"),
    [
        ({}, False, "File: choose a file to upload"),
        ({"format": "pdf"}, True, f"Format: unknown format 'pdf'; one of: {', '.join(FORMATS)}"),
        ({"resource": "/nowhere"}, True, "Resource id: no resource has the id '/nowhere'"),
    ],
)
def test_form_errors_are_a_400_with_a_message(user_client: Client, upload, fields, with_file, message):
    response = upload(user_client, DEBIAN if with_file else None, **fields)
    assert response.status_code == 400
    assert alert(response.content.decode()) == message
    assert not ImportJob.objects.exists()


def test_a_known_resource_id_is_accepted(user_client: Client, upload):
    machine = make_resource(name="something-else", resource_id="/subscriptions/x/vm/app")
    response = upload(user_client, DEBIAN, resource="/SUBSCRIPTIONS/x/vm/app")
    assert response.status_code == 302
    assert Finding.objects.filter(resource=machine).count() > 0


def test_an_upload_declared_too_large_is_refused_before_reading_it(user_client: Client, settings):
    settings.POSTURE_MAX_UPLOAD_BYTES = 1024
    response = user_client.post(
        "/imports/",
        {"file": SimpleUploadedFile(DEBIAN.name, DEBIAN.read_bytes())},
    )
    assert response.status_code == 413
    assert alert(response.content.decode()) == "The file is larger than the upload limit of 0 MB."
    assert not ImportJob.objects.exists()


def test_an_upload_larger_than_it_declared_is_refused_while_stored(user_client: Client, settings, upload):
    settings.POSTURE_MAX_UPLOAD_BYTES = 256
    response = upload(user_client, OSCAP / "bad" / "entity-expansion.xccdf.xml")
    assert response.status_code == 413
    assert "larger than the upload limit" in alert(response.content.decode())
    assert not ImportJob.objects.exists()


def test_the_form_needs_its_csrf_token(settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = client.post("/imports/", {"file": SimpleUploadedFile("a.csv", b"resource_id,name\n")})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_imports_need_a_login(client: Client):
    for method, url in (("get", "/imports/"), ("post", "/imports/"), ("get", "/imports/1/")):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_recent_jobs_list_file_status_format_time_and_user(user_client: Client, upload):
    upload(user_client, DEBIAN)
    submit_upload(chunks=[b"<x/>"], name=f"{XSS}.xml", user=None)
    html = user_client.get("/imports/").content.decode()
    assert "debian-anssi-high.arf.xml.xz</a>" in html
    assert '<span class="job-status status-done">Done</span>' in html
    assert '<span class="job-status status-queued">Queued</span>' in html
    assert "<td>arf</td>" in html
    assert "<td>alice</td>" in html
    assert "&lt;svg onload=alert(1)&gt;.xml</a>" in html
    assert "<svg" not in html


def test_unknown_job_is_a_404(user_client: Client):
    assert user_client.get("/imports/999999/").status_code == 404


def test_every_link_of_the_import_pages_answers_200(user_client: Client, upload):
    make_subscription("Production")
    job_page = upload(user_client, DEBIAN, url="/imports/?subscription=Production")["Location"]
    upload(user_client, HOSTILE)
    for page in ("/imports/", job_page):
        for href in re.findall(r'href="([^"]*)"', user_client.get(page).content.decode()):
            href = unescape(href).split("#")[0]
            if href.startswith(("/static/", "/admin/", "/accounts/")):
                continue
            if href.startswith("?"):
                href = page.split("?")[0] + href
            assert user_client.get(href).status_code == 200, href


def test_the_jobs_list_queries_do_not_grow_with_jobs(user_client: Client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get("/imports/").status_code == 200
        return len(context.captured_queries)

    submit_upload(chunks=[b"first"], name="first.csv", user=make_user("bob"))
    before = queries()
    for i in range(20):
        submit_upload(chunks=[f"file {i}".encode()], name=f"{i}.csv", user=make_user(f"user-{i}"))
    assert queries() == before
