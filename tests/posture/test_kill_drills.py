"""Kill drills: a real prefork worker on Redis is SIGKILLed in the middle of imports, again and again, and
restarted as systemd or docker would; every job must end done exactly once with the rows of a clean run.
A poison file that kills the worker every time ends as failed after the attempt bound.

Each kill is checked to land mid-import: just before it the job's row is locked by a live import and
its progress has reached a random point between 15 % and 80 %; just after it the job is still running.
The clean run imports the same files in this process, one after the other, from the same starting
estate; the two are compared row by row, without ids and the clocks of the import
(tests/comparable_state.py).
"""

import gzip
import lzma
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.management import call_command
from django.db import transaction

from governance.models import GovernanceRule
from intake.jobs import MAX_ATTEMPTS, progress_key, run_import_job, submit_upload
from intake.pipeline import ingest_file
from intake.reading import file_sha256
from intake.tasks import run_import
from posture.models import ImportJob, ImportStatus
from recommendations.models import Scan
from scoring.catalog import load_catalog
from tests.celery_worker import Worker, WorkerFailed
from tests.comparable_state import comparable_state, differences
from tests.posture.drill_names import POISON_KILLS, POISON_SHA256, QUEUE
from tests.scans import RHEL9, T1
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.worker

FINISHED = (ImportStatus.DONE, ImportStatus.FAILED)
DRILL_SECONDS = 600


@cache
def rhel9_document() -> bytes:
    return lzma.decompress(RHEL9.read_bytes())


def scan_file(folder: Path, host: str, number: int) -> Path:
    """The real RHEL 9 STIG scan (30 MB of XML, 1,348 rules) of another machine, gzipped."""
    document = rhel9_document().replace(b">vm<", f">{host}<".encode())
    document = document.replace(
        b"02:FC:00:00:00:01", f"02:FC:00:00:{number // 256:02X}:{number % 256:02X}".encode()
    )
    path = folder / f"{host}.arf.xml.gz"
    path.write_bytes(gzip.compress(document, compresslevel=1, mtime=0))
    return path


def scan_files(folder: Path, count: int, first: int = 0) -> list[Path]:
    return [scan_file(folder, f"drill-{number:03}", number + 1) for number in range(first, first + count)]


def prepare_estate() -> None:
    """The same starting point for the clean run and the drill: the catalog, a governance rule that
    assigns everything, and the benchmark's rules already known (an import of the original scan)."""
    call_command("flush", interactive=False, verbosity=0)
    load_catalog()
    GovernanceRule.objects.create(name="Everything", priority=1, owner_email="owner@example.com")
    assert ingest_file(RHEL9).status == "imported"


def submit(files: list[Path], *, queue: bool) -> list[ImportJob]:
    """Upload the files as the imports API does; queued on the drills' own queue when `queue`."""
    jobs = []
    for path in files:
        with transaction.atomic():
            submission = submit_upload(
                chunks=[path.read_bytes()],
                name=path.name,
                user=None,
                enqueue=(lambda pk: run_import.apply_async((pk,), queue=QUEUE)) if queue else None,
            )
        assert submission.created
        jobs.append(submission.job)
    return jobs


def outcomes() -> dict[str, tuple[str, dict[str, Any], str]]:
    """Each job's status, what it counted (without the scan's id) and its error, by file name."""
    return {
        job.original_name: (job.status, {k: v for k, v in job.counts.items() if k != "scan_id"}, job.error)
        for job in ImportJob.objects.all()
    }


@dataclass(frozen=True)
class CleanRun:
    state: dict[str, Counter[tuple[Any, ...]]]
    outcomes: dict[str, tuple[str, dict[str, Any], str]]


def clean_run(files: list[Path]) -> CleanRun:
    prepare_estate()
    for job in submit(files, queue=False):
        assert run_import_job(job.pk) == ImportStatus.DONE
    return CleanRun(comparable_state(), outcomes())


@pytest.fixture
def drill_worker(tmp_path: Path) -> Iterator[Worker]:
    """A worker of the drills' app on their queue (started by the test); its queue is emptied after."""
    worker = Worker(
        nodename=f"posture-drill-{os.getpid()}@{socket.gethostname()}",
        log=tmp_path / "drill-worker.log",
        queue=QUEUE,
        app_module="tests.posture.drill_worker",
    )
    try:
        yield worker
    finally:
        worker.stop()
        forget_queue()


def forget_queue() -> None:
    """Drop the drill queue's messages, those waiting and those a killed worker held unacknowledged
    (Redis would deliver them again after the visibility timeout, to a later test's drill worker)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(QUEUE)
    for tag, payload in client.hgetall("unacked").items():
        if f'"{QUEUE}"]'.encode() in payload:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@dataclass(frozen=True)
class Kill:
    job: int
    how: str
    percent: int


def import_in_progress(
    jobs: list[int], kills: Counter[int], at_least: int, deadline: float
) -> tuple[int, int] | None:
    """A job being imported right now, between `at_least` and 80 %, that may still be killed without
    using up its attempts; None when every job has finished."""
    while time.monotonic() < deadline:
        unfinished = ImportJob.objects.filter(pk__in=jobs).exclude(status__in=FINISHED)
        pks = list(unfinished.values_list("pk", flat=True))
        if not pks:
            return None
        for pk in pks:
            percent = (django_cache.get(progress_key(pk)) or {}).get("percent", 0)
            if kills[pk] < MAX_ATTEMPTS - 1 and at_least <= percent <= 80 and held_by_live_import(pk):
                return pk, percent
        time.sleep(0.02)
    pytest.fail(f"no import in progress within {DRILL_SECONDS}s")


def held_by_live_import(job_id: int) -> bool:
    with transaction.atomic():
        return not ImportJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).exists()


def kill_during_imports(worker: Worker, jobs: list[int], count: int, rng: random.Random) -> list[Kill]:
    kills: list[Kill] = []
    per_job: Counter[int] = Counter()
    deadline = time.monotonic() + DRILL_SECONDS
    while len(kills) < count:
        found = import_in_progress(jobs, per_job, rng.randint(15, 70), deadline)
        if found is None:
            break
        job_id, percent = found
        # Whole worker and pool child in turn, so even the short drill has both.
        how = ("worker", "child")[len(kills) % 2]
        if how == "worker":
            worker.kill()
        else:
            worker.kill_pool_child()
        status = ImportJob.objects.get(pk=job_id).status
        assert status == ImportStatus.RUNNING, (
            f"the kill of job {job_id} at {percent} % landed after it ended"
        )
        # A stale percentage must not pass for the next attempt's progress.
        django_cache.delete(progress_key(job_id))
        kills.append(Kill(job_id, how, percent))
        per_job[job_id] += 1
        if how == "worker":
            worker.start()  # as systemd or docker restarts it
    return kills


def wait_until_finished(jobs: list[int], worker: Worker, *, restart: bool = False) -> int:
    """Wait for every job to end; with `restart`, a worker that died is started again. Restarts made."""
    restarts = 0
    deadline = time.monotonic() + DRILL_SECONDS
    while ImportJob.objects.filter(pk__in=jobs).exclude(status__in=FINISHED).exists():
        if restart and not worker.alive():
            worker.kill()  # reaps it, and any pool child left behind
            restarts += 1
            try:
                worker.start()
            except WorkerFailed:
                # The requeued poison can kill a restarted worker before it answers the start's ping (a
                # fast machine): that is one more death of the drill, restarted on the next turn.
                if worker.alive():
                    raise
        assert time.monotonic() < deadline, (
            f"jobs still unfinished after {DRILL_SECONDS}s:\n{worker.log.read_text()[-3000:]}"
        )
        time.sleep(0.1)
    return restarts


def run_drill(tmp_path: Path, worker: Worker, *, files: int, kills: int, seed: int) -> None:
    paths = scan_files(tmp_path, files)
    clean = clean_run(paths)

    started = time.monotonic()
    prepare_estate()
    jobs = [job.pk for job in submit(paths, queue=True)]
    worker.start()
    landed = kill_during_imports(worker, jobs, kills, random.Random(seed))
    wait_until_finished(jobs, worker)
    seconds = time.monotonic() - started

    hows = Counter(kill.how for kill in landed)
    print(
        f"\nkill drill: {len(landed)} kills ({hows['worker']} whole worker, {hows['child']} pool child) "
        f"during {files} imports, at {sorted(kill.percent for kill in landed)} %, "
        f"{worker.starts} worker starts, {seconds:.0f}s, seed {seed}"
    )
    # Every kill tried lands mid-import unless the imports outrun it (a fast, quiet machine): at least one
    # must, and every job is checked against the kills that did land.
    assert 1 <= len(landed) <= kills
    killed = Counter(kill.job for kill in landed)
    for job in ImportJob.objects.filter(pk__in=jobs):
        assert (job.status, job.attempts) == (ImportStatus.DONE, killed[job.pk] + 1), job.original_name
    # One scan per file and machine: the original scan of the estate and one per drill file.
    assert Scan.objects.count() == files + 1
    assert Counter(Scan.objects.values_list("target_hostname", flat=True)) == Counter(
        ["vm"] + [f"drill-{number:03}" for number in range(files)]
    )
    assert outcomes() == clean.outcomes
    state = comparable_state()
    assert state == clean.state, differences(state, clean.state)


def test_imports_killed_mid_way_finish_exactly_once_with_the_rows_of_a_clean_run(
    tmp_path: Path, drill_worker: Worker
) -> None:
    run_drill(tmp_path, drill_worker, files=3, kills=4, seed=7)


@pytest.mark.long
def test_many_kills_during_many_imports_still_give_the_rows_of_a_clean_run(
    tmp_path: Path, drill_worker: Worker
) -> None:
    seed = int(os.environ.get("POSTURE_DRILL_SEED", "2026"))
    run_drill(tmp_path, drill_worker, files=18, kills=32, seed=seed)


def small_scan(folder: Path, host: str) -> Path:
    path = folder / f"{host}.xccdf.xml"
    path.write_bytes(xccdf_result(host=host, results={"sshd_disable_root_login": "fail"}, when=T1))
    return path


@pytest.mark.parametrize("kills", ["child", "worker"])
def test_a_file_that_kills_the_worker_every_time_ends_failed_and_the_others_import(
    tmp_path: Path, drill_worker: Worker, kills: str
) -> None:
    poison = scan_file(tmp_path, "poison", 1)
    before, after, later = (small_scan(tmp_path, host) for host in ("before", "after", "later"))
    drill_worker.extra_env.update({POISON_SHA256: file_sha256(poison), POISON_KILLS: kills})
    # Started before the files are queued: on a fast machine the poison could kill the worker before it
    # answered the start's ping.
    drill_worker.start()
    main_pid = drill_worker.pid
    jobs = submit([before, poison, after], queue=True)
    restarts = wait_until_finished([job.pk for job in jobs], drill_worker, restart=True)

    by_name = {job.original_name: job for job in ImportJob.objects.all()}
    failed = by_name[poison.name]
    assert (failed.status, failed.attempts) == (ImportStatus.FAILED, MAX_ATTEMPTS)
    assert failed.error == (
        f"the import stopped the worker {MAX_ATTEMPTS} times without finishing; "
        "the file is set aside as failed"
    )
    assert not Scan.objects.filter(file_sha256=failed.sha256).exists()
    for path in (before, after):
        assert (by_name[path.name].status, by_name[path.name].attempts) == (ImportStatus.DONE, 1)
        assert Scan.objects.filter(file_sha256=by_name[path.name].sha256).count() == 1
    if kills == "child":
        # The main process lived through the three kills of its pool child.
        assert (restarts, drill_worker.pid) == (0, main_pid)
    else:
        assert restarts == MAX_ATTEMPTS
    # And the worker goes on serving.
    (next_job,) = submit([later], queue=True)
    wait_until_finished([next_job.pk], drill_worker)
    assert ImportJob.objects.get(pk=next_job.pk).status == ImportStatus.DONE
