"""`manage.py ingest`: detection, summaries, JSON output, and the exit status of a rejected file."""

import json
import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from posture.models import Resource

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
INVENTORY = FIXTURES / "inventory" / "estate.csv"
EXPORT = FIXTURES / "defender" / "arg-assessments.json"


def run(*args: str) -> str:
    out = StringIO()
    call_command("ingest", *args, stdout=out)
    return out.getvalue()


def test_detects_each_format_and_prints_one_line_per_file():
    lines = run(str(INVENTORY), str(EXPORT)).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{INVENTORY}: imported (inventory): resources created 9")
    # The inventory gave its machines "No scan data" statuses and its cluster "No cluster data" ones; the
    # export updates five of them (four machines, and the cluster's policy add-on). Its four agent statuses
    # give way to what the inventory's agent columns showed; the fifth (Linux agent on a Windows Arc
    # machine, which Posture does not evaluate) is new.
    assert lines[1].startswith(f"{EXPORT}: imported (defender): assessments created 1, assessments changed 5")
    assert lines[1].endswith("kept own evidence 4")


def test_json_output_has_one_object_per_file():
    started = time.perf_counter()
    objects = [json.loads(line) for line in run("--json", str(INVENTORY), str(EXPORT)).splitlines()]
    elapsed = time.perf_counter() - started
    assert [o["format"] for o in objects] == ["inventory", "defender"]
    # Each file's own time: together no more than the command's, each some of it.
    seconds = [o.pop("seconds") for o in objects]
    assert all(isinstance(s, float) and s > 0 for s in seconds)
    assert sum(seconds) <= elapsed
    assert objects[0] == {
        "file": str(INVENTORY),
        "format": "inventory",
        "status": "imported",
        "error": None,
        "resources_created": 9,
        "resources_changed": 0,
        "resources_unchanged": 0,
        "subscriptions_created": 2,
    }
    assert (objects[1]["assessments_created"], objects[1]["assessments_changed"]) == (1, 5)
    assert objects[1]["kept_own_evidence"] == 4


def test_a_rejected_file_fails_the_command_and_the_others_still_import(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("resource_id,name,kind,os,subscription\nvm:1,a,vm,solaris,prod\n")
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 file"):
        call_command("ingest", "--json", str(bad), str(INVENTORY), stdout=out)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["status"] == "rejected"
    assert first["error"] == "line 2: os 'solaris' is not one of linux, windows"
    assert second["status"] == "imported"
    assert not Resource.objects.filter(resource_id="vm:1").exists()


def test_format_can_be_forced():
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("ingest", "--format", "defender", str(INVENTORY), stdout=out)
    assert "rejected: not a Defender export: a CSV needs" in out.getvalue()
    assert "imported (inventory)" in run("--format", "inventory", str(INVENTORY))


def test_unrecognised_content_names_the_formats(tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\n")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("ingest", str(odd), stdout=out)
    assert "unrecognised format: expected an inventory CSV" in out.getvalue()


def test_cli_exits_1_with_a_one_line_reason(tmp_path):
    """The real command line, on a throw-away SQLite database."""
    env = {**os.environ, "POSTURE_VAR_DIR": str(tmp_path), "POSTURE_DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, capture_output=True)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    done = subprocess.run([*manage, "ingest", str(empty)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout == f"{empty}: rejected: the file is empty\n"
    assert done.stderr.strip() == "CommandError: 1 of 1 file(s) rejected: the file is empty"


def test_the_command_starts_lean_without_celery_the_api_or_the_system_checks(tmp_path):
    """`manage.py ingest` loads neither Celery (it enqueues nothing) nor the URL map, views and API
    schema that the system checks would import; another command still loads the Celery app."""
    env = {**os.environ, "POSTURE_VAR_DIR": str(tmp_path), "POSTURE_DEBUG": "1"}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True, capture_output=True
    )
    watched = (
        "celery",
        "kombu",
        "drf_spectacular.openapi",
        "rest_framework.views",
        "config.urls",
        "web.pages",
        "web.api",
    )
    probe = (
        "import atexit, runpy, sys\n"
        f"watched = {watched!r}\n"
        "def show():\n"
        "    print(sorted(m for m in sys.modules if m.startswith(watched)), file=sys.stderr)\n"
        "atexit.register(show)\n"
        "sys.argv = ['manage.py'] + sys.argv[1:]\n"
        f"runpy.run_path({str(ROOT / 'manage.py')!r}, run_name='__main__')\n"
    )

    def loaded(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True)
        return done.stderr.strip().splitlines()[-1]

    assert loaded("ingest", "--json", str(INVENTORY)) == "[]"
    assert "celery" in loaded("showmigrations", "audit")
