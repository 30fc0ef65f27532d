"""Every importer against the malformed-input corpus: each broken file imports or is refused with a clear
message, leaves the database as it was when refused, and finishes in seconds.

The default run takes a sample of every format's corpus that covers each mutation family; the `long`
variant (POSTURE_LONG_TESTS=1) runs all of it (figures in bench/README.md, "Malformed-input corpus").
"""

import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from config.celery import app as celery_app
from intake.pipeline import ingest_file
from tests.corpus.generate import FORMATS, Case, build_corpus, sample
from tests.corpus.seeds import ARC, FIXTURES, LAB
from tests.db_state import database_state
from tests.factories import make_resource

# "A few seconds" per file; the slowest legitimate case (an 11 MB attribute) takes well under one.
CASE_SECONDS = 5
SAMPLE_SIZE = 45
# What a message meant for a user never holds: Python's own words for a crash.
CRASH_WORDS = (
    "Traceback", "object at 0x", "KeyError", "IndexError", "TypeError", "AttributeError", "ValueError",
    "RecursionError", "UnicodeDecodeError", "UnicodeEncodeError", "DataError", "IntegrityError",
    "<class ", "NoneType",
)  # fmt: skip
MAX_MESSAGE = 1000


class CaseTimeout(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupts the case (SIGALRM in this, the main thread) when it runs longer than `seconds`."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def register_estate() -> None:
    """The estate the seeds describe: the inventory's machines and AKS cluster, and the two other clusters."""
    assert ingest_file(FIXTURES / "inventory" / "estate.csv").status == "imported"
    make_resource(name="arc-edge", kind="k8s_cluster", os="", resource_id=ARC)
    make_resource(name="lab-kind", kind="k8s_cluster", os="", resource_id=LAB)


def problems_with(case: Case, folder: Path) -> tuple[str, list[str]]:
    """Run one case through ingest_file; its outcome and what is wrong with it (nothing, when it behaved)."""
    path = folder / case.file_name
    path.write_bytes(case.data)
    counts, rows = row_counts(), database_state()
    started = time.monotonic()
    try:
        with deadline(CASE_SECONDS):
            result = ingest_file(path, file_format=None if case.detect else case.format)
    except Exception as error:  # every escape is what this test is there to report
        return "crashed", [f"unhandled {type(error).__name__}: {str(error)[:300]}"]
    finally:
        path.unlink()
    found = []
    if time.monotonic() - started > CASE_SECONDS:
        found.append(f"took {time.monotonic() - started:.1f} s")
    if result.status not in ("imported", "rejected"):
        found.append(f"status {result.status!r}")
    if result.status == "rejected":
        message = result.error or ""
        if not message.strip():
            found.append("rejected without a message")
        if len(message) > MAX_MESSAGE or "\n" in message:
            found.append(f"message of {len(message)} characters over {message.count(chr(10)) + 1} lines")
        found.extend(f"message shows {word!r}: {message[:200]}" for word in CRASH_WORDS if word in message)
        if row_counts() != counts or database_state() != rows:
            found.append("rejected, but the database changed")
    return result.status, found


def run_corpus(cases: list[Case], folder: Path) -> None:
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()
    for case in cases:
        outcome, found = problems_with(case, folder)
        outcomes[outcome] += 1
        failures.extend(f"{case.name} [{case.family}, {case.file_name}]: {problem}" for problem in found)
    elapsed = time.monotonic() - started
    # Read by whoever records the long run's figures in bench/README.md (pytest -s shows it).
    print(f"\ncorpus {cases[0].format}: {len(cases)} cases, {dict(outcomes)}, {elapsed:.1f} s")
    assert not failures, f"{len(failures)} of {len(cases)} cases misbehaved:\n" + "\n".join(failures)


@pytest.fixture(scope="module")
def corpora() -> dict[str, list[Case]]:
    return {file_format: build_corpus(file_format) for file_format in FORMATS}


def test_every_corpus_has_500_distinct_cases_in_every_family(corpora: dict[str, list[Case]]) -> None:
    for file_format, cases in corpora.items():
        assert len(cases) >= 500, file_format
        assert len({case.data for case in cases}) == len(cases), file_format
        families = {case.family for case in cases}
        common = {"truncate", "flip_bits", "wrong-encoding", "compression", "tiny-file", "swapped-root"}
        assert common <= families, (file_format, common - families)
        assert any(case.detect for case in cases)
        assert not all(case.detect for case in cases)
    structured = {
        "scap": {"deleted-element", "huge-attributes", "deep-nesting", "dtd", "entity", "duplicate-results",
                 "unknown-result", "invalid-cce"},
        "securitybaseline": {"missing-column", "huge-fields", "deep-nesting", "duplicate-rows",
                             "unknown-value", "invalid-cce"},
        "defender": {"deleted-key", "huge-fields", "deep-nesting", "duplicate-records", "unknown-value"},
        "inventory": {"missing-column", "huge-fields", "duplicate-rows", "unknown-value", "bad-cell"},
        "kubernetes": {"deleted-key", "huge-fields", "deep-nesting", "duplicate-records", "unknown-value"},
    }  # fmt: skip
    for file_format, families in structured.items():
        assert families <= {case.family for case in corpora[file_format]}, file_format
    assert build_corpus("inventory") == corpora["inventory"], "the corpus must be the same on every run"


@pytest.mark.django_db
@pytest.mark.parametrize("file_format", FORMATS)
def test_a_sample_of_the_corpus_imports_or_is_refused_cleanly(
    file_format: str, corpora: dict[str, list[Case]], tmp_path: Path
) -> None:
    register_estate()
    cases = sample(corpora[file_format], SAMPLE_SIZE)
    assert {case.family for case in cases} == {case.family for case in corpora[file_format]}
    run_corpus(cases, tmp_path)


@pytest.mark.long
@pytest.mark.django_db
@pytest.mark.parametrize("file_format", FORMATS)
def test_the_whole_corpus_imports_or_is_refused_cleanly(
    file_format: str, corpora: dict[str, list[Case]], tmp_path: Path
) -> None:
    register_estate()
    run_corpus(corpora[file_format], tmp_path)


# One case of a family per format that once crashed or could hang a worker, and one that imports.
WORKER_CASES = (
    ("scap", "dtd"), ("scap", "deep-nesting"), ("scap", "compression"), ("defender", "deep-nesting"),
    ("kubernetes", "huge-fields"), ("inventory", "bad-cell"), ("securitybaseline", "tiny-file"),
)  # fmt: skip
JOB_SECONDS = 60


@pytest.mark.worker
def test_corpus_uploads_end_as_finished_jobs_and_the_worker_lives_on(
    admin_client: Client, corpora: dict[str, list[Case]], celery_worker_process: str
) -> None:
    chosen = [next(c for c in corpora[f] if c.family == family) for f, family in WORKER_CASES]
    jobs = {}
    for case in chosen:
        upload = SimpleUploadedFile(case.file_name, case.data)
        response = admin_client.post("/api/v1/imports/", {"file": upload, "format": case.format})
        assert response.status_code == 201, (case.name, response.content)
        jobs[case.name] = response.json()["id"]
    deadline_at = time.monotonic() + JOB_SECONDS
    finished: dict[str, dict[str, object]] = {}
    while len(finished) < len(jobs) and time.monotonic() < deadline_at:
        for name, job_id in jobs.items():
            detail = admin_client.get(f"/api/v1/imports/{job_id}/").json()
            if detail["status"] in ("done", "failed"):
                finished[name] = detail
        time.sleep(0.2)
    assert set(finished) == set(jobs), f"still running after {JOB_SECONDS} s: {set(jobs) - set(finished)}"
    for name, detail in finished.items():
        if detail["status"] == "failed":
            error = str(detail["error"])
            assert error.strip(), name
            assert not any(word in error for word in CRASH_WORDS), (name, error)
        assert detail["attempts"] == 1, (name, detail)
    assert celery_app.control.ping(destination=[celery_worker_process], timeout=5)
    good = (FIXTURES / "inventory" / "estate.csv").read_bytes()
    response = admin_client.post("/api/v1/imports/", {"file": SimpleUploadedFile("estate.csv", good)})
    job_id = response.json()["id"]
    detail = response.json()
    while detail["status"] not in ("done", "failed") and time.monotonic() < deadline_at + JOB_SECONDS:
        time.sleep(0.2)
        detail = admin_client.get(f"/api/v1/imports/{job_id}/").json()
    assert detail["status"] == "done", detail
