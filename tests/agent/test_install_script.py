"""The Quick fix's Linux command, run for real: curl fetches agent/install.sh from a live server, which
installs the agent, enrolls the machine with the embedded token and runs it once."""

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

from intake.agents import set_auto_provisioning
from posture.models import Resource, Workspace
from recommendations.models import Assessment
from scoring.engine import compute_score
from tests.factories import make_resource, make_subscription

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl, as install.sh does")

COMMAND = re.compile(r"<code>(curl -fsSL .*?)</code>")


def health(machine: Resource, key: str) -> tuple[str, str]:
    assessment = Assessment.objects.get(resource=machine, recommendation__key=key)
    return assessment.status, assessment.reason


def test_the_quick_fix_command_installs_and_enrolls_a_pending_machine(
    live_server: LiveServer, admin_client, settings, tmp_path: Path
) -> None:
    settings.POSTURE_PUBLIC_URL = live_server.url
    workspace = Workspace.objects.create(name="Lab", workspace_id="ws-lab")
    subscription = make_subscription("Lab")
    machine = make_resource(subscription, name="lab-vm-1", resource_id="onprem:lab-vm-1")
    set_auto_provisioning(subscription, workspace)
    assert health(machine, "vm-agent-installed") == ("unhealthy", "Pending agent installation")
    before = compute_score().current

    page = admin_client.post(
        "/agents/install-commands/", {"resource": [machine.pk], "recommendation": "vm-agent-installed"}
    )
    found = COMMAND.search(page.content.decode())
    assert found is not None
    command = html.unescape(found.group(1))
    assert command.startswith(f"curl -fsSL {live_server.url}/agent/install.sh | sudo sh -s -- ")
    # As root on a machine it would be `sudo sh`; here the same script installs into a scratch directory.
    local = command.replace("| sudo sh -s --", "| sh -s --")
    environment = {
        **os.environ,
        "POSTURE_AGENT_BINDIR": str(tmp_path / "bin"),
        "POSTURE_AGENT_CONFIG": str(tmp_path / "etc" / "config.json"),
        "POSTURE_AGENT_NO_SYSTEMD": "1",
    }
    done = subprocess.run(
        ["sh", "-c", local], capture_output=True, text=True, timeout=300, env=environment, check=False
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert f"posture-install: installed {tmp_path / 'bin' / 'posture-agent'}" in done.stdout
    assert "heartbeat: accepted; workspace ws-lab, resource onprem:lab-vm-1" in done.stdout
    assert "no systemd here" in done.stdout
    assert os.access(tmp_path / "bin" / "posture-agent", os.X_OK)

    machine.refresh_from_db()
    assert (machine.agent_state, machine.agent_evidence, machine.workspace_id) == (
        "installed",
        "heartbeat",
        "ws-lab",
    )
    assert health(machine, "vm-agent-installed") == ("healthy", "")
    assert health(machine, "agent-health-resolved") == ("healthy", "")
    assert compute_score().current > before


def test_a_wrong_token_stops_the_install_with_the_servers_message(
    live_server: LiveServer, tmp_path: Path
) -> None:
    script = subprocess.run(
        ["curl", "-fsS", f"{live_server.url}/agent/install.sh"], capture_output=True, timeout=60, check=True
    ).stdout
    environment = {
        **os.environ,
        "POSTURE_AGENT_BINDIR": str(tmp_path / "bin"),
        "POSTURE_AGENT_CONFIG": str(tmp_path / "etc" / "config.json"),
        "POSTURE_AGENT_NO_SYSTEMD": "1",
    }
    done = subprocess.run(
        ["sh", "-s", "--", live_server.url, "pst_not-a-real-token", "onprem:x"],
        input=script,
        capture_output=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert done.returncode != 0
    assert b"HTTP 401: invalid or revoked enrollment token" in done.stderr
    assert not (tmp_path / "etc" / "config.json").exists()
