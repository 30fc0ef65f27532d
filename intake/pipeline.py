"""The one service that persists importer records: one file, one transaction, set-based writes.

A file either imports whole or changes nothing: records are read inside the transaction, so a bad
record anywhere rolls back what the records before it wrote.
"""

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from governance.sync import after_ingest
from intake.persist.assessments import persist_assessments
from intake.persist.inventory import persist_inventory
from intake.persist.kubernetes import persist_kubernetes
from intake.persist.rules import upsert_benchmark, upsert_rules
from intake.persist.scans import persist_scans
from intake.persist.statistics import refresh_planner_statistics
from posture.errors import RejectedFile
from posture.importers.arg import read_assessments
from posture.importers.compression import open_input
from posture.importers.detect import FORMATS, detect_format
from posture.importers.inventory import read_inventory
from posture.importers.kubernetes import read_kubernetes
from posture.importers.securitybaseline import read_security_baseline
from posture.importers.xccdf import read_scap
from recommendations.models import Benchmark
from scoring.history import record_snapshot


@dataclass
class IngestResult:
    file: str
    format: str | None
    status: str
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


Progress = Callable[[int, str], None]


class _ProgressReader(io.RawIOBase):
    """Reports how far through the file (compressed bytes) the import has read, in whole percents."""

    def __init__(self, raw: IO[bytes], total: int, progress: Progress) -> None:
        self._raw = raw
        self._total = max(total, 1)
        self._progress = progress
        self._done = 0
        self._reported = -1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._done += len(data)
        # Reading is most of an import's time; it spans 5 % to 85 % of the bar.
        percent = 5 + 80 * self._done // self._total
        if percent != self._reported:
            self._reported = percent
            self._progress(percent, "reading")
        return len(data)


def detect_file_format(path: Path, file_format: str | None) -> str:
    """The format asked for, else the one the file's first bytes show (compressed files are opened)."""
    with path.open("rb") as head, open_input(head) as stream:
        start = stream.read(8192)
    return file_format or detect_format(start)


def refused(path: Path, file_format: str | None, error: RejectedFile | OSError) -> IngestResult:
    """A file that could not be imported, with the reason to show."""
    message = error.message if isinstance(error, RejectedFile) else f"cannot read the file: {error.strerror}"
    return IngestResult(file=str(path), format=file_format, status="rejected", error=message)


def ingest_file(
    path: Path,
    *,
    file_format: str | None = None,
    resource: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Import one file; a rejected file comes back with its reason and leaves the database as it was."""
    detected = file_format
    try:
        digest = file_sha256(path)
        detected = detect_file_format(path, file_format)
        with path.open("rb") as plain:
            raw: IO[bytes] = plain
            if progress is not None:
                raw = io.BufferedReader(_ProgressReader(plain, path.stat().st_size, progress))
            with open_input(raw) as stream:
                counts = ingest_stream(
                    stream, file_format=detected, file_sha256=digest, resource_hint=resource
                )
    except (RejectedFile, OSError) as error:
        return refused(path, detected, error)
    if not connection.in_atomic_block:
        refresh_planner_statistics()
    return IngestResult(
        file=str(path), format=counts.pop("format", detected), status="imported", counts=counts
    )


@transaction.atomic
def ingest_stream(
    stream: IO[bytes],
    *,
    file_format: str,
    file_sha256: str = "",
    resource_hint: str | None = None,
) -> dict[str, Any]:
    """Persist one file's records, bring governance up to date with what they changed and snapshot the
    score if it moved, all in one transaction. The counts say what changed (governance's only when it
    did something)."""
    since = timezone.now()
    counts = _persist(stream, file_format=file_format, file_sha256=file_sha256, resource_hint=resource_hint)
    counts.update({name: n for name, n in after_ingest(since).items() if n})
    record_snapshot()
    return counts


def _persist(
    stream: IO[bytes],
    *,
    file_format: str,
    file_sha256: str,
    resource_hint: str | None,
) -> dict[str, Any]:
    if not file_sha256 and stream.seekable():
        file_sha256 = hashlib.sha256(stream.read()).hexdigest()
        stream.seek(0)
    if resource_hint and file_format in ("inventory", "defender"):
        raise RejectedFile(
            f"--resource applies to scan results and kubectl dumps, not to a {file_format} file"
        )
    if file_format == "inventory":
        return dict(persist_inventory(read_inventory(stream)))
    if file_format == "defender":
        return dict(persist_assessments(read_assessments(stream)))
    if file_format == "scap":
        return persist_scans(
            read_scap(stream, known_benchmarks()),
            file_sha256=file_sha256,
            resource_hint=resource_hint,
            source="OpenSCAP scan",
        )
    if file_format == "securitybaseline":
        return persist_scans(
            read_security_baseline(stream),
            file_sha256=file_sha256,
            resource_hint=resource_hint,
            source="SecurityBaseline export",
        )
    if file_format == "kubernetes":
        return persist_kubernetes(
            read_kubernetes(stream), file_sha256=file_sha256, resource_hint=resource_hint
        )
    raise RejectedFile(f"unknown format {file_format!r}; one of: {', '.join(FORMATS)}")


def known_benchmarks() -> frozenset[tuple[str, str]]:
    """Benchmark versions whose rules are in the catalog (loaded whole at least once)."""
    return frozenset(
        Benchmark.objects.exclude(rules_digest="").exclude(version="").values_list("benchmark_id", "version")
    )


@transaction.atomic
def load_benchmark_file(path: Path) -> dict[str, Any]:
    """Load every rule of a SCAP data stream or XCCDF benchmark into the catalog, scans or not."""
    try:
        with path.open("rb") as raw, open_input(raw) as stream:
            document = read_scap(stream)
    except OSError as error:
        raise RejectedFile(f"cannot read the file: {error.strerror}") from None
    if not document.rules:
        raise RejectedFile("the file holds no XCCDF rules: expected a SCAP data stream or XCCDF benchmark")
    benchmark = upsert_benchmark(document.benchmark)
    _, counts = upsert_rules(document.rules, benchmark)
    return {
        "benchmark": str(benchmark) if benchmark else "unnamed benchmark",
        "rules": len(document.rules),
        "rules_with_cce": sum(1 for rule in document.rules if rule.cce),
        **counts,
    }
