#!/usr/bin/env python3
"""posture-agent: the reference Posture agent, one file, Python 3.8+ standard library only.

    posture-agent enroll URL TOKEN   check the token with one heartbeat, then write the config (0600)
    posture-agent run                heartbeat; then, if the workspace sets a SCAP profile and this
                                     machine has `oscap` and the data stream, scan and upload the ARF
    posture-agent status             the config (without the token) and the last run

A heartbeat sends the host name, the FQDN, the OS family, the agent's version, its resource id, and
an error the agent detected about itself (`install_failed` while `oscap` cannot run
the workspace's profile). An agent that cannot reach the server cannot say so: it records the failure
in last-run.json beside its config (`status` shows it) and exits with status 1; the server sees the
heartbeats stop.

Nothing here imports Posture or Django: copy this file to /usr/local/bin/posture-agent.
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import os
import platform
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import IO, Any

VERSION = "1.0.0"
USER_AGENT = f"posture-agent/{VERSION}"
CONFIG_ENV = "POSTURE_AGENT_CONFIG"
DEFAULT_CONFIG = (
    Path(os.environ.get("PROGRAMDATA", "C:\\ProgramData"), "posture-agent", "config.json")
    if os.name == "nt"
    else Path("/etc/posture-agent/config.json")
)
STATE_NAME = "last-run.json"
HTTP_TIMEOUT = 60
DEFAULT_WAIT = 600
DEFAULT_SCAN_TIMEOUT = 3600
INSTALL_FAILED = "install_failed"
# oscap's exit status: 0 every rule passed, 2 some failed; anything else means it did not evaluate.
OSCAP_EVALUATED = (0, 2)
LOOPBACK_NAMES = ("localhost", "localhost6", "ip6-localhost", "ip6-loopback")


class Failure(Exception):
    """Why the agent stops, in one line meant for the operator."""


class CannotConnect(Failure):
    """The server could not be reached, so nothing about it can be reported to the server."""


class ScanBroken(Failure):
    """oscap is installed but cannot evaluate the workspace's profile: reported as install_failed."""


@dataclass
class Config:
    url: str
    token: str
    workspace_id: str = ""
    resource_id: str = ""
    ca_file: str = ""


# Configuration and state files ---------------------------------------------------------------------


def config_path(option: str | None) -> Path:
    return Path(option or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def state_path(config: Path) -> Path:
    return config.with_name(STATE_NAME)


def load_config(path: Path) -> Config:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Failure(f"not enrolled: {path} does not exist (run: posture-agent enroll URL TOKEN)") from None
    except PermissionError:
        raise Failure(f"cannot read {path}: permission denied (run as root)") from None
    except ValueError:
        raise Failure(f"{path} is not valid JSON; enroll again") from None
    if not isinstance(raw, dict) or not raw.get("url") or not raw.get("token"):
        raise Failure(f"{path} names no server url or token; enroll again")
    return Config(
        url=str(raw["url"]),
        token=str(raw["token"]),
        workspace_id=str(raw.get("workspace_id") or ""),
        resource_id=str(raw.get("resource_id") or ""),
        ca_file=str(raw.get("ca_file") or ""),
    )


def write_private(path: Path, document: dict[str, Any]) -> None:
    """Replace `path` atomically with `document` as JSON, readable by its owner only (it holds a token)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=2, sort_keys=True)
                out.write("\n")
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise Failure(f"cannot write {path}: {error.strerror or error}") from None


def save_config(path: Path, config: Config) -> None:
    write_private(path, asdict(config))


def read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


# Talking to the server -----------------------------------------------------------------------------


def server_url(raw: str) -> str:
    """The server's base URL without a trailing slash; only http(s), since it carries the token."""
    parts = urllib.parse.urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{raw!r}: give the server's base URL, without ? or #")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def encode_multipart(
    fields: dict[str, str], file_field: str, file_name: str, content: bytes
) -> tuple[bytes, str]:
    """A multipart/form-data body with `fields` and one file; returns (body, Content-Type header)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    safe_name = file_name.replace('"', "").replace("\r", "").replace("\n", "")
    parts.append(
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{file_field}"; filename="{safe_name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def describe_http_error(code: int, body: bytes) -> str:
    """One line from an error answer: DRF's `detail`, or each field's messages."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and "detail" in document:
        detail = str(document["detail"])
    elif isinstance(document, dict):
        detail = "; ".join(
            f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
            for field, messages in document.items()
        )
    else:
        detail = ""
    if code == 401:
        detail += " (enroll again with a new token)"
    return f"HTTP {code}: {detail.strip()}" if detail.strip() else f"HTTP {code}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: it would carry the token to another URL. Enroll with the final URL."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class Server:
    """The Posture server's agent API, authenticated with the enrollment token."""

    def __init__(self, config: Config) -> None:
        self.url = config.url
        self._token = config.token
        context = ssl.create_default_context(cafile=config.ca_file or None)
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirects)

    def heartbeat(self, payload: dict[str, str]) -> dict[str, Any]:
        return self._call("POST", "/api/v1/heartbeats/", json.dumps(payload).encode(), "application/json")

    def upload(self, file_name: str, content: bytes, resource: str) -> dict[str, Any]:
        body, content_type = encode_multipart(
            {"resource": resource, "format": "scap"}, "file", file_name, content
        )
        return self._call("POST", "/api/v1/imports/", body, content_type)

    def job(self, job_id: int) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/imports/{job_id}/")

    def _call(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> dict[str, Any]:
        # The scheme is http(s) only: server_url() checked it at enrollment.
        request = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self._token}")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", USER_AGENT)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self._opener.open(request, timeout=HTTP_TIMEOUT) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            if 300 <= error.code < 400:
                location = error.headers.get("Location", "?")
                raise Failure(f"{self.url} redirects to {location}: enroll with the final URL") from None
            raise Failure(f"{method} {path}: {describe_http_error(error.code, error.read())}") from None
        except (urllib.error.URLError, OSError) as error:  # refused, timed out, TLS, name resolution
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            raise CannotConnect(f"cannot connect to {self.url}: {reason}") from None
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise Failure(
                f"{method} {path}: the answer is not a JSON object (is {self.url} a Posture server?)"
            )
        return document


# This machine ---------------------------------------------------------------------------------------


def os_family() -> str:
    system = platform.system()
    if system in ("Linux", "Windows"):
        return system.lower()
    raise Failure(f"unsupported operating system {system!r}: Posture knows linux and windows machines")


def real_fqdn(name: str) -> str:
    """The FQDN if this machine has a real one; "" for localhost aliases, addresses and bare names."""
    try:
        ipaddress.ip_address(name)
        return ""
    except ValueError:
        pass
    if "." not in name or name.split(".")[0].lower() in LOOPBACK_NAMES:
        return ""
    return name


def heartbeat_payload(config: Config, error: str = "") -> dict[str, str]:
    hostname = socket.gethostname()
    if hostname.split(".")[0].lower() in LOOPBACK_NAMES and not config.resource_id:
        raise Failure(
            f"this machine's host name is {hostname!r}: set a real one (hostnamectl set-hostname) "
            "or enroll with --resource-id"
        )
    payload = {
        "agent_version": VERSION,
        "os": os_family(),
        "hostname": hostname,
        "fqdn": real_fqdn(socket.getfqdn()),
        "error": error,
    }
    if config.resource_id:
        payload["resource_id"] = config.resource_id
    return payload


def beat(server: Server, config: Config, error: str = "") -> dict[str, Any]:
    """Send a heartbeat; the config learns the resource and workspace ids the server answered.

    The token decides the workspace, so the heartbeat does not name one.
    """
    return _learn(config, server.heartbeat(heartbeat_payload(config, error)))


def _learn(config: Config, answer: dict[str, Any]) -> dict[str, Any]:
    workspace = answer.get("workspace")
    if not answer.get("resource_id") or not isinstance(workspace, dict) or not workspace.get("workspace_id"):
        raise Failure("the heartbeat's answer names no resource_id or workspace (is this a Posture server?)")
    config.resource_id = str(answer["resource_id"])
    config.workspace_id = str(workspace["workspace_id"])
    return answer


# Scanning -------------------------------------------------------------------------------------------


def scan_plan(answer: dict[str, Any], oscap: str | None) -> tuple[str, str, str]:
    """(profile, data stream, why not) from the heartbeat's answer; scan only when `why not` is ""."""
    workspace = answer.get("workspace") or {}
    profile = str(workspace.get("scan_profile") or "")
    datastream = str(workspace.get("scan_datastream") or "")
    if not profile or not datastream:
        return profile, datastream, "the workspace sets no SCAP profile and data stream"
    if oscap is None:
        return profile, datastream, "oscap is not installed (Debian: apt-get install openscap-scanner)"
    if not Path(datastream).is_file():
        return profile, datastream, f"the data stream {datastream} is not on this machine"
    return profile, datastream, ""


def run_oscap(oscap: str, profile: str, datastream: str, workdir: Path, timeout: int) -> Path:
    """Evaluate the profile; returns the ARF file. Raises ScanBroken when oscap did not evaluate."""
    arf = workdir / "results-arf.xml"
    command = [oscap, "xccdf", "eval", "--profile", profile, "--results-arf", str(arf), datastream]
    # oscap prints every rule on stdout: to a file, not to the agent's one-line-per-step output.
    with (workdir / "oscap.out").open("wb") as out:
        try:
            done = subprocess.run(
                command, stdout=out, stderr=subprocess.PIPE, cwd=str(workdir), timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise ScanBroken(f"oscap did not finish within {timeout} s (--scan-timeout)") from None
    if done.returncode not in OSCAP_EVALUATED or not arf.is_file():
        said = [line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        raise ScanBroken(f"oscap exited with status {done.returncode}: {said[0] if said else 'no message'}")
    return arf


def gzip_file(source: Path) -> Path:
    target = source.with_name(source.name + ".gz")
    with source.open("rb") as raw, gzip.open(target, "wb") as compressed:
        shutil.copyfileobj(raw, compressed, 1 << 20)
    return target


def wait_for_job(
    server: Server, job: dict[str, Any], wait: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    delay = 0.5
    while job.get("status") not in ("done", "failed") and time.monotonic() < deadline:
        sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 5.0)
        job = server.job(int(job["id"]))
    return job


def describe_counts(job: dict[str, Any]) -> str:
    counts = job.get("counts") or {}
    results = counts.get("results") if isinstance(counts, dict) else None
    words = [f"{n} {name}" for name, n in sorted((results or {}).items()) if name != "notselected"]
    before, after = job.get("score_before"), job.get("score_after")
    if isinstance(before, dict) and isinstance(after, dict):
        words.append(
            f"score {before.get('current')}/{before.get('max')} -> {after.get('current')}/{after.get('max')}"
        )
    return ", ".join(words) or "no results"


# Commands -------------------------------------------------------------------------------------------


def say(steps: list[str], line: str) -> None:
    steps.append(line)
    print(line, flush=True)


def read_token(raw: str) -> str:
    token = (sys.stdin.readline() if raw == "-" else raw).strip()
    if not token or any(c.isspace() for c in token):
        raise Failure("the token is empty or contains spaces")
    return token


def enroll(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    token = read_token(args.token)
    try:
        previous: Config | None = load_config(path)
    except Failure:
        previous = None
    same_server = previous is not None and previous.url == args.url
    config = Config(
        url=args.url,
        token=token,
        workspace_id=previous.workspace_id if previous and same_server else "",
        resource_id=args.resource_id or (previous.resource_id if previous and same_server else ""),
        ca_file=args.ca_file or "",
    )
    if args.url.startswith("http://") and not is_loopback(args.url):
        print("warning: http:// sends the token in clear text; use https:// outside a lab", file=sys.stderr)
    answer = beat(Server(config), config)
    created = " (new to the server)" if answer.get("resource_created") else ""
    print(f"heartbeat: accepted; workspace {config.workspace_id}, resource {config.resource_id}{created}")
    save_config(path, config)
    print(f"enrolled: {path} written (mode 0600); next: posture-agent run, or the systemd timer")
    return 0


def run(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    config = load_config(path)
    state_file = state_path(path)
    reported = str(read_state(state_file).get("reported_error") or "")
    state: dict[str, Any] = {"started_at": _now(), "steps": [], "reported_error": reported}
    steps: list[str] = state["steps"]
    try:
        server = Server(config)
        known = (config.resource_id, config.workspace_id)
        answer = beat(server, config, reported)
        say(steps, f"heartbeat: ok; resource {config.resource_id}, workspace {config.workspace_id}")
        if (config.resource_id, config.workspace_id) != known:
            save_config(path, config)
        if args.no_scan:
            say(steps, "scan: skipped (--no-scan)")
        else:
            scan(server, config, answer, args, state)
    except Failure as failure:
        state.update(ok=False, error=str(failure), finished_at=_now())
        if isinstance(failure, CannotConnect):
            state["error_kind"] = "cannot_connect"
        _write_state(state_file, state)
        raise
    state.update(ok=True, error="", finished_at=_now())
    _write_state(state_file, state)
    return 0


def scan(
    server: Server, config: Config, answer: dict[str, Any], args: argparse.Namespace, state: dict[str, Any]
) -> None:
    """Scan and upload; then, if what the agent detected about itself changed, a heartbeat says so."""
    steps: list[str] = state["steps"]
    reported = state["reported_error"]
    failure: Failure | None = None
    detected = ""
    try:
        state["job"] = scan_and_upload(server, config, answer, args, steps)
    except ScanBroken as broken:
        failure, detected = broken, INSTALL_FAILED
    except CannotConnect:
        raise
    except Failure as other:  # the scan ran: whatever failed afterwards is not this machine's install
        failure = other
    if detected != reported:
        try:
            beat(server, config, detected)  # corrects what this run's first heartbeat said
            state["reported_error"] = detected
            say(steps, f"heartbeat: error {detected or 'cleared'}")
        except Failure as late:
            failure = failure or late
    if failure is not None:
        raise failure


def scan_and_upload(
    server: Server, config: Config, answer: dict[str, Any], args: argparse.Namespace, steps: list[str]
) -> dict[str, Any] | None:
    """Scan with the workspace's profile and upload the ARF; the import job, or None when not scanning."""
    oscap = shutil.which("oscap")
    profile, datastream, why_not = scan_plan(answer, oscap)
    if oscap is None or why_not:
        say(steps, f"scan: skipped: {why_not}")
        return None
    with tempfile.TemporaryDirectory(prefix="posture-agent-") as directory:
        started = time.monotonic()
        arf = run_oscap(oscap, profile, datastream, Path(directory), args.scan_timeout)
        say(steps, f"scan: {profile} evaluated in {time.monotonic() - started:.1f} s")
        content = gzip_file(arf).read_bytes()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = f"{socket.gethostname()}-{stamp}.arf.xml.gz"
    job = server.upload(name, content, config.resource_id)
    say(steps, f"upload: {name} ({human_size(len(content))}), import job {job.get('id')} {job.get('status')}")
    job = wait_for_job(server, job, args.wait)
    if job.get("status") == "failed":
        raise Failure(f"the server could not import the scan (job {job.get('id')}): {job.get('error')}")
    if job.get("status") == "done":
        say(steps, f"import: job {job.get('id')} done: {describe_counts(job)}")
    else:
        say(
            steps,
            f"import: job {job.get('id')} still {job.get('status')} after {args.wait} s; the server goes on",
        )
    return {key: job.get(key) for key in ("id", "status", "counts", "error")}


def human_size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"


def status(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    config = load_config(path)
    print(f"config: {path}")
    for key, value in asdict(config).items():
        shown = f"{value[:12]}... (hidden)" if key == "token" else value
        print(f"  {key}: {shown or '-'}")
    state = read_state(state_path(path))
    if not state:
        print("last run: never")
        return 0
    outcome = "ok" if state.get("ok") else f"FAILED: {state.get('error')}"
    print(f"last run: {state.get('finished_at') or state.get('started_at')}: {outcome}")
    for line in state.get("steps") or []:
        print(f"  {line}")
    if state.get("reported_error"):
        print(f"  reported to the server: error {state['reported_error']}")
    return 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_state(path: Path, state: dict[str, Any]) -> None:
    try:
        write_private(path, state)
    except Failure as failure:
        print(f"warning: {failure}", file=sys.stderr)


def positive_seconds(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="posture-agent", description="Report this machine to a Posture server and upload its scans."
    )
    parser.add_argument("--version", action="version", version=f"posture-agent {VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    config_help = f"config file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG})"

    enroll_parser = commands.add_parser("enroll", help="check a token with one heartbeat and save the config")
    enroll_parser.add_argument(
        "url", type=server_url, help="the server's base URL, e.g. https://posture.example.com"
    )
    enroll_parser.add_argument("token", help="the workspace's enrollment token, or - to read it from stdin")
    enroll_parser.add_argument(
        "--resource-id", default="", help="this machine's resource id, if it is listed"
    )
    enroll_parser.add_argument("--ca-file", default="", help="CA bundle for a server with a private CA")
    enroll_parser.add_argument("--config", help=config_help)
    enroll_parser.set_defaults(handler=enroll)

    run_parser = commands.add_parser(
        "run", help="send a heartbeat, then scan and upload if the workspace asks"
    )
    run_parser.add_argument("--config", help=config_help)
    run_parser.add_argument("--no-scan", action="store_true", help="send the heartbeat only")
    run_parser.add_argument(
        "--wait",
        type=positive_seconds,
        default=DEFAULT_WAIT,
        help=f"seconds to wait for the server's import (default {DEFAULT_WAIT}; 0: do not wait)",
    )
    run_parser.add_argument(
        "--scan-timeout",
        type=positive_seconds,
        default=DEFAULT_SCAN_TIMEOUT,
        help=f"seconds oscap may take (default {DEFAULT_SCAN_TIMEOUT})",
    )
    run_parser.set_defaults(handler=run)

    status_parser = commands.add_parser("status", help="show the config (without the token) and the last run")
    status_parser.add_argument("--config", help=config_help)
    status_parser.set_defaults(handler=status)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    args = build_parser().parse_args(None if argv is None else list(argv))
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except Failure as failure:
        print(f"posture-agent: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
