"""The heartbeat API: agents authenticate with a workspace's enrollment token and report themselves."""

import logging
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from config.celery import app as celery_app
from posture.agents import issue_token, revoke_token
from posture.models import EnrollmentToken, ImportJob, Resource, Workspace
from tests.factories import make_resource
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

URL = "/api/v1/heartbeats/"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()


@pytest.fixture
def workspace():
    return Workspace.objects.create(
        name="Production",
        workspace_id="ws-prod",
        scan_profile="xccdf_org.ssgproject.content_profile_standard",
    )


@pytest.fixture
def agent(workspace):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(workspace=workspace).token}")
    return client


def beat(client, **fields):
    payload = {"hostname": "web-01", "agent_version": "1.0.0", "workspace_id": "ws-prod", "os": "linux"}
    payload.update(fields)
    return client.post(URL, payload, format="json")


def test_heartbeat_updates_the_listed_machine_and_tells_the_agent_its_profile(agent):
    machine = make_resource(name="web-01", agent_state="not_installed")
    response = beat(agent)
    assert response.status_code == 200
    assert response.json() == {
        "resource_id": machine.resource_id,
        "resource_created": False,
        "workspace": {
            "workspace_id": "ws-prod",
            "scan_datastream": None,
            "scan_profile": "xccdf_org.ssgproject.content_profile_standard",
        },
    }
    machine.refresh_from_db()
    assert (machine.agent_state, machine.agent_version, machine.workspace_id) == (
        "installed",
        "1.0.0",
        "ws-prod",
    )
    assert machine.last_heartbeat is not None


def test_a_machine_nobody_listed_is_discovered(agent):
    response = beat(agent, hostname="lab-9", fqdn="lab-9.example.org", os="windows")
    assert response.json()["resource_created"] is True
    machine = Resource.objects.get()
    assert (machine.name, machine.kind, machine.os) == ("lab-9.example.org", "arc_machine", "windows")
    assert (machine.subscription.name, machine.discovered_from) == ("Discovered", "agent heartbeat")


def test_heartbeats_are_idempotent(agent):
    beat(agent)
    first = Resource.objects.get()
    beat(agent)
    assert Resource.objects.count() == 1
    again = Resource.objects.get()
    assert again.last_heartbeat is not None
    assert first.last_heartbeat is not None
    assert again.last_heartbeat >= first.last_heartbeat


def test_reported_errors_are_kept(agent):
    beat(agent, error="cannot_connect")
    assert Resource.objects.get().agent_error == "cannot_connect"
    beat(agent, error="install_failed")
    assert Resource.objects.get().agent_state == "install_failed"


@pytest.mark.parametrize(
    ("header", "reason"),
    [("", None), ("Bearer pst_wrong", "unknown or revoked"), ("Bearer", "malformed"), ("Token abc", None)],
)
def test_missing_or_wrong_token_is_401_and_logged(header, reason, caplog):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    with caplog.at_level(logging.WARNING, logger="posture.agents"):
        response = beat(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="posture-agents"'
    if reason:
        assert reason in caplog.text
    assert not Resource.objects.exists()


def test_revoked_token_is_401(workspace, caplog):
    issued = issue_token(workspace=workspace)
    revoke_token(issued.record)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    with caplog.at_level(logging.WARNING, logger="posture.agents"):
        assert beat(client).status_code == 401
    assert issued.token[:12] in caplog.text
    assert issued.token not in caplog.text


def test_the_token_is_stored_only_as_a_digest(workspace):
    issued = issue_token(workspace=workspace)
    stored = EnrollmentToken.objects.get()
    assert issued.token not in (stored.digest, stored.prefix)
    assert len(stored.digest) == 64


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"agent_version": ""}, {"agent_version": ["This field may not be blank."]}),
        ({"os": "plan9"}, {"os": ['"plan9" is not a valid choice.']}),
        (
            {"hostname": "", "fqdn": "", "resource_id": ""},
            {"hostname": ["hostname, fqdn or resource_id is required"]},
        ),
        ({"error": "on fire"}, {"error": ['"on fire" is not a valid choice.']}),
    ],
)
def test_malformed_heartbeat_is_400_naming_the_field(agent, fields, error):
    response = beat(agent, **fields)
    assert response.status_code == 400
    assert response.json() == error
    assert not Resource.objects.exists()


def test_heartbeats_are_rate_limited_per_token(agent, workspace, settings):
    settings.POSTURE_HEARTBEAT_RATE = "2/min"
    assert [beat(agent).status_code for _ in range(3)] == [200, 200, 429]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(workspace=workspace).token}")
    assert beat(other).status_code == 200


def test_users_cannot_post_heartbeats_with_a_session(admin_client):
    response = admin_client.post(URL, {}, content_type="application/json")
    assert response.status_code == 401


def test_commands_register_a_workspace_and_issue_list_and_revoke_tokens():
    out = StringIO()
    call_command("add_workspace", "Lab", "--workspace-id", "ws-lab", stdout=out)
    call_command("enrollment_token", "ws-lab", stdout=out)
    token = out.getvalue().splitlines()[-1]
    assert token.startswith("pst_")
    listing = StringIO()
    call_command("enrollment_token", "ws-lab", "--list", stdout=listing)
    assert "active, never used" in listing.getvalue()
    call_command("enrollment_token", "ws-lab", "--revoke", token[:10], stdout=StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert beat(client, workspace_id="ws-lab").status_code == 401


@pytest.fixture
def eager_tasks():
    # The PostgreSQL pass has a real broker; this test's uncommitted rows need the task in-process.
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager


def test_an_agent_uploads_its_own_scan_with_its_token(
    agent, workspace, tmp_path, settings, django_capture_on_commit_callbacks, eager_tasks
):
    settings.POSTURE_UPLOAD_DIR = str(tmp_path)
    beat(agent, hostname="web-01")
    machine = Resource.objects.get()
    document = xccdf_result(host="web-01", results={"a": "fail"}, when=datetime(2026, 11, 1, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("scan.xml", document), "resource": machine.resource_id},
            format="multipart",
        )
    assert response.status_code == 201
    job = ImportJob.objects.get()
    assert job.created_by is None
    assert job.created_by_token is not None
    assert job.created_by_token.workspace == workspace
    assert job.resource_hint == machine.resource_id
    assert agent.get(f"/api/v1/imports/{job.pk}/").json()["status"] == "done"
    assert agent.get("/api/v1/imports/").status_code == 403


def test_an_agent_cannot_upload_for_a_machine_of_another_workspace(agent, tmp_path, settings):
    settings.POSTURE_UPLOAD_DIR = str(tmp_path)
    other = make_resource(name="db-9", workspace_id="ws-other")
    response = agent.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("scan.xml", b"<x/>"), "resource": other.resource_id},
        format="multipart",
    )
    assert response.status_code == 400
    assert "reports to its workspace" in response.json()["detail"]
    assert not ImportJob.objects.exists()


def test_the_token_decides_the_workspace(agent):
    assert beat(agent, workspace_id="").status_code == 200
    assert Resource.objects.get().workspace_id == "ws-prod"
    response = beat(agent, workspace_id="ws-other")
    assert response.status_code == 400
    assert response.json() == {"detail": "workspace_id 'ws-other' is not this token's workspace ('ws-prod')"}


def test_a_token_cannot_claim_a_machine_of_another_workspace(agent):
    Workspace.objects.create(name="Finance", workspace_id="ws-finance")
    machine = make_resource(name="web-01", workspace_id="ws-finance")
    response = beat(agent)
    assert response.status_code == 400
    assert "reports to workspace 'ws-finance'" in response.json()["detail"]
    machine.refresh_from_db()
    assert (machine.workspace_id, machine.last_heartbeat) == ("ws-finance", None)


def test_a_machine_listed_with_an_unregistered_workspace_joins_the_tokens(agent):
    machine = make_resource(name="web-01", workspace_id="ws-typo")
    assert beat(agent).status_code == 200
    machine.refresh_from_db()
    assert machine.workspace_id == "ws-prod"


def test_a_loopback_host_name_is_never_matched_or_discovered(agent):
    make_resource(name="localhost")
    response = beat(agent, hostname="localhost", fqdn="localhost.localdomain")
    assert response.status_code == 400
    assert Resource.objects.count() == 1
