"""The agent's own parts, without a server: its multipart body, config files, arguments and errors."""

import ast
import io
import json
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http.multipartparser import MultiPartParser


def test_the_multipart_body_is_what_django_reads(posture_agent):
    content = bytes(range(256)) * 64  # binary, like the gzip the agent sends
    body, content_type = posture_agent.encode_multipart(
        {"resource": "/subscriptions/s1/virtualMachines/web-01", "format": "scap"},
        "file",
        'web-01"\r\n.arf.xml.gz',
        content,
    )
    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    fields, files = MultiPartParser(meta, io.BytesIO(body), [MemoryFileUploadHandler()], "utf-8").parse()
    assert fields.dict() == {"resource": "/subscriptions/s1/virtualMachines/web-01", "format": "scap"}
    upload = files.get("file")
    assert isinstance(upload, UploadedFile)
    assert upload.name == "web-01.arf.xml.gz"
    assert upload.read() == content


def test_the_config_is_written_for_its_owner_only_and_read_back(posture_agent, tmp_path):
    path = tmp_path / "etc" / "posture-agent" / "config.json"
    config = posture_agent.Config(url="https://posture.example.com", token="pst_secret", workspace_id="ws")
    posture_agent.save_config(path, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert posture_agent.load_config(path) == config
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temporary file left


def test_the_config_path_is_the_option_then_the_environment_then_etc(posture_agent, monkeypatch):
    monkeypatch.delenv("POSTURE_AGENT_CONFIG", raising=False)
    assert str(posture_agent.config_path(None)) == "/etc/posture-agent/config.json"
    monkeypatch.setenv("POSTURE_AGENT_CONFIG", "/srv/agent.json")
    assert str(posture_agent.config_path(None)) == "/srv/agent.json"
    assert str(posture_agent.config_path("/tmp/other.json")) == "/tmp/other.json"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "not enrolled: "),
        ("{not json", "is not valid JSON"),
        ('{"url": "https://x"}', "no server url or token"),
    ],
)
def test_a_missing_or_broken_config_is_one_line_and_status_1(
    posture_agent, tmp_path, capsys, content, reason
):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    assert posture_agent.main(["run", "--config", str(path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("posture-agent: ")
    assert reason in error
    assert error.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["enroll", "ftp://posture.example.com", "pst_x"], "is not an http:// or https:// URL"),
        (["enroll", "https://posture.example.com?x=1", "pst_x"], "without ? or #"),
        (["enroll", "https://posture.example.com"], "the following arguments are required: token"),
        (["run", "--wait", "soon"], "'soon' is not a number of seconds"),
        (["scan"], "invalid choice: 'scan'"),
    ],
)
def test_argument_errors_exit_with_status_2_and_say_why(posture_agent, capsys, argv, message):
    with pytest.raises(SystemExit) as stopped:
        posture_agent.main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_the_url_loses_its_trailing_slash(posture_agent):
    assert (
        posture_agent.server_url(" https://posture.example.com/base/ ") == "https://posture.example.com/base"
    )


@pytest.mark.parametrize(
    ("code", "body", "line"),
    [
        (
            400,
            b'{"detail": "an agent uploads scans of a machine"}',
            "HTTP 400: an agent uploads scans of a machine",
        ),
        (
            400,
            b'{"os": ["\\"plan9\\" is not a valid choice."], "hostname": ["required"]}',
            'HTTP 400: os: "plan9" is not a valid choice.; hostname: required',
        ),
        (
            401,
            b'{"detail": "invalid or revoked enrollment token"}',
            "HTTP 401: invalid or revoked enrollment token (enroll again with a new token)",
        ),
        (500, b"<h1>Server Error (500)</h1>", "HTTP 500"),
    ],
)
def test_http_errors_show_the_servers_detail(posture_agent, code, body, line):
    assert posture_agent.describe_http_error(code, body) == line


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("web-01.example.org", "web-01.example.org"),
        ("localhost", ""),
        ("localhost.localdomain", ""),
        ("ip6-localhost", ""),
        ("127.0.1.1", ""),
        ("web-01", ""),
    ],
)
def test_only_a_real_fqdn_is_sent(posture_agent, name, sent):
    assert posture_agent.real_fqdn(name) == sent


def test_a_machine_named_localhost_needs_a_resource_id(posture_agent, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "localhost")
    config = posture_agent.Config(url="https://x", token="pst_x", workspace_id="ws")
    with pytest.raises(posture_agent.Failure, match="set a real one"):
        posture_agent.heartbeat_payload(config)
    config.resource_id = "/subscriptions/s1/virtualMachines/web-01"
    assert posture_agent.heartbeat_payload(config)["resource_id"] == config.resource_id


def test_an_unreachable_server_is_recorded_locally(posture_agent, tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "config.json"
    posture_agent.save_config(path, posture_agent.Config(url=f"http://127.0.0.1:{port}", token="pst_secret"))
    assert posture_agent.main(["run", "--config", str(path)]) == 1
    assert f"posture-agent: cannot connect to http://127.0.0.1:{port}" in capsys.readouterr().err
    state = json.loads((tmp_path / "last-run.json").read_text())
    assert (state["ok"], state["error_kind"]) == (False, "cannot_connect")
    assert posture_agent.main(["status", "--config", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "last run: " in shown
    assert "FAILED: cannot connect" in shown
    assert "token: pst_secret... (hidden)" in shown


def test_status_never_prints_the_token(posture_agent, tmp_path, capsys):
    path = tmp_path / "config.json"
    token = "pst_" + "s" * 40
    posture_agent.save_config(path, posture_agent.Config(url="https://x", token=token, workspace_id="ws"))
    assert posture_agent.main(["status", "--config", str(path)]) == 0
    shown = capsys.readouterr().out
    assert token not in shown
    assert "workspace_id: ws" in shown
    assert "last run: never" in shown


@pytest.mark.parametrize(
    ("workspace", "oscap", "why_not"),
    [
        ({"scan_profile": None, "scan_datastream": None}, "/usr/bin/oscap", "sets no SCAP profile"),
        ({"scan_profile": "standard", "scan_datastream": "{ds}"}, None, "oscap is not installed"),
        (
            {"scan_profile": "standard", "scan_datastream": "/nowhere/ds.xml"},
            "/usr/bin/oscap",
            "not on this machine",
        ),
        ({"scan_profile": "standard", "scan_datastream": "{ds}"}, "/usr/bin/oscap", ""),
    ],
)
def test_the_scan_runs_only_with_a_profile_oscap_and_the_data_stream(
    posture_agent, tmp_path, workspace, oscap, why_not
):
    datastream = tmp_path / "ds.xml"
    datastream.write_text("<ds/>")
    workspace = {k: v.format(ds=datastream) if v else v for k, v in workspace.items()}
    plan = posture_agent.scan_plan({"workspace": workspace}, oscap)
    assert why_not in plan[2]
    assert bool(plan[2]) == bool(why_not)


def fake_oscap(tmp_path, script: str):
    path = tmp_path / "oscap"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_oscap_exit_status_2_means_it_ran_and_some_rules_failed(posture_agent, tmp_path):
    # Arguments: xccdf eval --profile P --results-arf OUT DS
    oscap = fake_oscap(tmp_path, 'echo "<arf/>" > "$6"; echo "Result fail"; exit 2\n')
    workdir = tmp_path / "work"
    workdir.mkdir()
    arf = posture_agent.run_oscap(oscap, "standard", "/ds.xml", workdir, 60)
    assert arf.read_text() == "<arf/>\n"


def test_another_oscap_exit_status_is_a_broken_scan_with_oscaps_message(posture_agent, tmp_path):
    oscap = fake_oscap(
        tmp_path, 'echo "" >&2; echo "No profile matching suffix \\"nope\\" was found." >&2; exit 1\n'
    )
    with pytest.raises(posture_agent.ScanBroken) as broken:
        posture_agent.run_oscap(oscap, "nope", "/ds.xml", tmp_path, 60)
    assert str(broken.value) == 'oscap exited with status 1: No profile matching suffix "nope" was found.'


def test_a_scan_that_overruns_its_timeout_is_broken(posture_agent, tmp_path):
    oscap = fake_oscap(tmp_path, "exec sleep 30\n")
    with pytest.raises(posture_agent.ScanBroken, match="did not finish within 1 s"):
        posture_agent.run_oscap(oscap, "standard", "/ds.xml", tmp_path, 1)


def test_waiting_for_the_import_is_bounded(posture_agent):
    class Queued:
        asked = 0

        def job(self, job_id):
            self.asked += 1
            return {"id": job_id, "status": "queued"}

    server = Queued()
    naps: list[float] = []
    job = posture_agent.wait_for_job(server, {"id": 7, "status": "queued"}, 0, sleep=naps.append)
    assert (job["status"], server.asked, naps) == ("queued", 0, [])
    job = posture_agent.wait_for_job(server, {"id": 7, "status": "queued"}, 0.3, sleep=lambda s: None)
    assert job == {"id": 7, "status": "queued"}
    assert server.asked >= 1


def test_the_agent_imports_nothing_but_the_standard_library(posture_agent):
    tree = ast.parse(Path(posture_agent.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names
    # Without site-packages (-S) and the environment (-I), as on a machine with a bare Python.
    shown = subprocess.run(
        [sys.executable, "-I", "-S", posture_agent.__file__, "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == f"posture-agent {posture_agent.VERSION}\n"
