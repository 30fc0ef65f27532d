"""Files never open as pages: every download (exports, chart CSVs, quick-fix bundles, agent files) is
an attachment of a non-HTML type with nosniff, and uploaded files are stored outside anything served."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.views import static

from governance.roles import Role
from intake.jobs import stored_path, submit_upload
from recommendations.models import Finding
from tests.factories import make_user
from web.pages.agent_files import FILES

pytestmark = pytest.mark.django_db

# Every route that hands out a file, by URL name (a new one must be added here to be checked).
DOWNLOADS = {
    "agent-file",
    "chart-score-trend-csv",
    "chart-failed-rules-csv",
    "chart-top-recommendations-csv",
    "quick-fix-bash",
    "quick-fix-ansible",
    "quick-fix-powershell",
    "baseline-csv",
    "baseline-xlsx",
    "api-findings-export-csv",
    "api-findings-export-xlsx",
    "recommendation-export-csv",
}
LOOKS_LIKE_A_DOWNLOAD = re.compile(r"csv|xlsx|export|quick-fix|agent-file|download|bundle|file")


def url_patterns(resolver: URLResolver | None = None) -> list[URLPattern]:
    found: list[URLPattern] = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            found.extend(url_patterns(entry))
        else:
            found.append(entry)
    return found


@pytest.fixture
def admin_client(client: Client) -> Client:
    call_command("load_demo")
    client.force_login(make_user("boss", role=Role.ADMIN))
    return client


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def assert_is_a_safe_download(response, what: str) -> None:
    assert response.status_code == 200, what
    content_type = response["Content-Type"]
    assert not content_type.startswith(("text/html", "application/xhtml", "image/svg")), what
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Content-Disposition"].startswith("attachment;"), what


def test_every_route_that_looks_like_a_download_is_in_the_list():
    names = {p.name for p in url_patterns() if p.name and LOOKS_LIKE_A_DOWNLOAD.search(p.name)}
    names -= {"api-imports"}  # the upload endpoint (JSON), not a download
    assert names <= DOWNLOADS, names - DOWNLOADS


def test_every_download_is_an_attachment_of_a_type_that_is_not_a_page(admin_client: Client):
    open_findings = Finding.objects.filter(state="open")
    # A bundle holds one platform's rules: Linux ones for bash and Ansible, Windows ones for PowerShell.
    linux = list(open_findings.exclude(rule__os="windows").values_list("pk", flat=True)[:5])
    windows = list(open_findings.filter(rule__os="windows").values_list("pk", flat=True)[:5])
    assert linux
    assert windows
    checked: set[str] = set()
    for name in FILES:
        assert_is_a_safe_download(Client().get(f"/agent/{name}"), name)
    checked.add("agent-file")
    for name, path in [
        ("chart-score-trend-csv", "/charts/score-trend.csv?days=30"),
        ("chart-failed-rules-csv", "/charts/failed-rules.csv"),
        ("chart-top-recommendations-csv", "/charts/top-recommendations.csv"),
        ("api-findings-export-csv", "/api/v1/findings/export.csv"),
        ("api-findings-export-xlsx", "/api/v1/findings/export.xlsx"),
        ("recommendation-export-csv", "/recommendations/machine-config-vulns/export.csv"),
        ("baseline-csv", "/baseline/export.csv?os=windows"),
        ("baseline-xlsx", "/baseline/export.xlsx?os=windows"),
    ]:
        response = admin_client.get(path)
        assert_is_a_safe_download(response, path)
        assert body_of(response), path
        checked.add(name)
    bundles = [
        ("quick-fix-bash", "/os-configuration/quick-fix/bash/", linux),
        ("quick-fix-ansible", "/os-configuration/quick-fix/ansible/", linux),
        ("quick-fix-powershell", "/os-configuration/quick-fix/powershell/", windows),
    ]
    for name, path, findings in bundles:
        assert_is_a_safe_download(admin_client.post(path, {"finding": findings}), path)
        checked.add(name)
    assert checked == DOWNLOADS


def test_uploads_are_stored_outside_everything_served(settings):
    upload_dir = Path(settings.POSTURE_UPLOAD_DIR).resolve()
    served = [
        Path(settings.STATIC_ROOT).resolve(),
        settings.BASE_DIR / "static",
        settings.BASE_DIR / "templates",
    ]
    served += [Path(d[1] if isinstance(d, tuple) else d).resolve() for d in settings.STATICFILES_DIRS]
    for folder in served:
        assert not upload_dir.is_relative_to(folder), folder
        assert not folder.is_relative_to(upload_dir), folder
    # No media serving at all, and no view of the URL map serves files from a folder.
    assert not settings.MEDIA_ROOT
    assert all(p.callback is not static.serve for p in url_patterns())


def test_an_uploaded_html_file_is_reachable_under_no_url(admin_client: Client, settings, tmp_path):
    settings.POSTURE_UPLOAD_DIR = str(tmp_path / "uploads")
    hostile = b"<html><script>alert(document.cookie)</script></html>"
    job = submit_upload(chunks=[hostile], name="evil.html", user=None).job
    stored = stored_path(job)
    assert stored.read_bytes() == hostile
    candidates = [
        f"/{prefix}{name}"
        for prefix in ("", "static/", "uploads/", "media/", "var/uploads/", "imports/")
        for name in (job.sha256, stored.name, "evil.html")
    ]
    for url in [*candidates, f"/imports/{job.pk}/file", f"/imports/{job.pk}/download"]:
        assert hostile not in body_of(admin_client.get(url)), url
    # The job's own page names the file as text.
    page = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert "evil.html" in page
    assert "<script>alert(document.cookie)" not in page
