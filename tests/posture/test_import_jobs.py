"""Import jobs through the API: upload, one run, progress, what changed, same file twice, attempt bound."""

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.celery import app as celery_app
from intake import jobs
from intake.jobs import MAX_ATTEMPTS, run_import_job
from posture.models import ImportJob, Resource
from recommendations.models import Finding, Scan
from tests.db_state import database_state

pytestmark = pytest.mark.django_db

OSCAP = Path(__file__).resolve().parent.parent.parent.parent / "shared" / "data" / "oscap"
DEBIAN = OSCAP / "debian-anssi-high.arf.xml.xz"


@pytest.fixture(autouse=True)
def uploads(request, tmp_path, settings):
    # A real worker is another process with its own settings: it shares POSTURE_VAR_DIR's folder.
    if not request.node.get_closest_marker("worker"):
        settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """POST a file to the imports API and run its task here, in the test's transaction.

    The task is queued on commit, which a test transaction never reaches; and on the PostgreSQL pass a
    real worker could not see the uncommitted rows, so the task runs eagerly in this process.
    """
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True

    def post(client, path: Path, **fields: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/api/v1/imports/", {"file": SimpleUploadedFile(path.name, path.read_bytes()), **fields}
            )

    yield post
    celery_app.conf.task_always_eager = eager


def test_upload_runs_the_import_and_reports_what_changed(admin_client, upload):
    response = upload(admin_client, DEBIAN)
    assert response.status_code == 201
    job = response.json()
    # Without REDIS_URL the task ran in-process, inside the request.
    detail = admin_client.get(f"/api/v1/imports/{job['id']}/").json()
    assert detail["status"] == "done"
    assert detail["progress"] == {"percent": 100, "phase": "done"}
    assert detail["format"] == "arf"
    assert detail["counts"]["results"]["fail"] == 2
    assert detail["counts"]["findings_opened"] == 2
    assert detail["score_before"] == {"current": 0, "max": 0, "percentage": 0}
    assert detail["score_after"] == {"current": 0, "max": 4, "percentage": 0}
    assert detail["attempts"] == 1
    assert Finding.objects.filter(state="open").count() == 2


def test_the_same_file_again_returns_the_existing_job(admin_client, upload):
    first = upload(admin_client, DEBIAN).json()
    again = upload(admin_client, DEBIAN)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert ImportJob.objects.count() == 1
    assert Scan.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.xml", "the file is empty"),
        ("entity-expansion.xccdf.xml", "declares a DTD"),
        ("external-dtd.xccdf.xml", "declares a DTD"),
        ("external-entity.xccdf.xml", "declares a DTD"),
        ("not-xml.arf.xml", "unrecognised format"),
        ("truncated.arf.xml.xz", "malformed or truncated XML"),
        ("wrong-root.xml", "not an OpenSCAP file"),
    ],
)
def test_hostile_and_broken_files_end_as_failed_jobs_with_nothing_stored(admin_client, upload, name, message):
    before = database_state()
    job = upload(admin_client, OSCAP / "bad" / name).json()
    detail = admin_client.get(f"/api/v1/imports/{job['id']}/").json()
    assert detail["status"] == "failed"
    assert message in detail["error"]
    assert "\n" not in detail["error"]
    assert database_state() == before


def test_upload_over_the_limit_is_refused_before_any_work(admin_client, settings, upload):
    settings.POSTURE_MAX_UPLOAD_BYTES = 1024
    response = upload(admin_client, DEBIAN)
    assert response.status_code == 413
    assert response.json() == {"detail": "the file is larger than the upload limit of 0 MB"}
    assert not ImportJob.objects.exists()


def test_unknown_format_and_missing_file_are_clear_errors(admin_client, upload):
    assert upload(admin_client, DEBIAN, format="pdf").json() == {
        "detail": (
            "unknown format 'pdf'; one of: inventory, defender, scap, securitybaseline, kubernetes, "
            "aws-ec2, aws-ssm, gcp-compute, asff, prowler-ocsf, defender-score"
        )
    }
    response = admin_client.post("/api/v1/imports/", {})
    assert response.status_code == 400
    assert response.json() == {"file": ["a file is required (multipart field 'file')"]}


def test_imports_need_a_login(client, upload):
    assert client.get("/api/v1/imports/").status_code in (401, 403)
    assert upload(client, DEBIAN).status_code in (401, 403)
    assert not ImportJob.objects.exists()


def queued_job(admin_user, path: Path, settings) -> ImportJob:
    submission = jobs.submit_upload(chunks=[path.read_bytes()], name=path.name, user=admin_user)
    return submission.job


def test_an_interrupted_import_leaves_nothing_and_the_next_attempt_completes(
    admin_user, settings, monkeypatch
):
    job = queued_job(admin_user, DEBIAN, settings)

    def die_halfway(job_id: int, percent: int, phase: str) -> None:
        if percent > 50:
            raise SystemExit("worker killed")

    monkeypatch.setattr(jobs, "report_progress", die_halfway)
    with pytest.raises(SystemExit):
        run_import_job(job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("running", 1)
    assert not Scan.objects.exists()
    assert not Resource.objects.exists()
    assert run_import_job(job.pk) == "done"
    assert Scan.objects.count() == 1
    job.refresh_from_db()
    assert job.attempts == 2


def test_a_file_that_keeps_killing_workers_ends_failed_after_the_bound(admin_user, settings):
    job = queued_job(admin_user, DEBIAN, settings)
    ImportJob.objects.filter(pk=job.pk).update(status="running", attempts=MAX_ATTEMPTS)
    assert run_import_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == (
        f"the import stopped the worker {MAX_ATTEMPTS} times without finishing; "
        "the file is set aside as failed"
    )
    assert not Scan.objects.exists()
    assert run_import_job(job.pk) == "failed"  # redelivered again: stays failed, runs nothing


def test_a_finished_job_is_not_run_twice(admin_user, settings):
    job = queued_job(admin_user, DEBIAN, settings)
    assert run_import_job(job.pk) == "done"
    assert run_import_job(job.pk) == "done"
    job.refresh_from_db()
    assert job.attempts == 1


@pytest.mark.worker
def test_a_real_worker_imports_the_upload_and_the_score_moves(admin_client):
    response = admin_client.post(
        "/api/v1/imports/", {"file": SimpleUploadedFile(DEBIAN.name, DEBIAN.read_bytes())}
    )
    assert response.status_code == 201
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    detail = response.json()
    while detail["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        detail = admin_client.get(f"/api/v1/imports/{job_id}/").json()
    assert detail["status"] == "done", detail
    assert detail["counts"]["results"] == {"fail": 2, "notapplicable": 28, "notselected": 305, "pass": 20}
    assert detail["score_after"] == {"current": 0, "max": 4, "percentage": 0}
    assert Finding.objects.filter(state="open").count() == 2
