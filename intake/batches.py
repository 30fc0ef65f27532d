"""Imports many files at once: scan results in batches (one transaction each), the rest one by one.

A fleet's scanners drop thousands of result files; importing them one transaction each spends most of
the time on per-file round trips. Here files are read ahead (in a thread, while the database writes the
previous batch) and a batch's scans are written set-based by `persist_scan_files`. Each file still
imports whole or not at all: a file that cannot be read or matched is rejected alone, and a batch the
database refuses is imported again file by file.
"""

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from django.db import DatabaseError, transaction
from django.utils import timezone

from governance.sync import after_ingest
from intake.persist.scan_batch import ScanFile, persist_scan_files
from intake.persist.statistics import refresh_planner_statistics
from intake.pipeline import (
    IngestResult,
    detect_file_format,
    file_sha256,
    ingest_file,
    known_benchmarks,
    refused,
)
from posture.errors import RejectedFile
from posture.importers.compression import open_input
from posture.importers.securitybaseline import read_security_baseline
from posture.importers.xccdf import read_scap
from scoring.history import record_snapshot

logger = logging.getLogger(__name__)

BATCH_RESULTS = 100_000
READ_AHEAD = 2
SCAN_FORMATS = {"scap": "OpenSCAP scan", "securitybaseline": "SecurityBaseline export"}


def ingest_files(
    paths: Sequence[Path], *, file_format: str | None = None, batch_results: int = BATCH_RESULTS
) -> list[IngestResult]:
    """Import every file; one result per file, in the order given."""
    results: dict[int, IngestResult] = {}
    for work in _read_batches(paths, file_format, batch_results, results):
        if isinstance(work, int):
            results[work] = ingest_file(paths[work], file_format=file_format)
        else:
            results.update(_import_batch(paths, work, file_format))
    return [results[index] for index in range(len(paths))]


Batch = list[tuple[int, ScanFile]]


def _read_batches(
    paths: Sequence[Path],
    file_format: str | None,
    batch_results: int,
    rejected: dict[int, IngestResult],
) -> Iterator[Batch | int]:
    """Batches of read scan files, read by a thread ahead of the writes, in the order given: the index of
    a file of another format (to import on its own) comes after the batch before it, so an inventory
    listed before scans is in before their machines are matched. Unreadable files go to `rejected`."""
    known = known_benchmarks()
    ready: queue.Queue[Batch | int | BaseException | None] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def read() -> None:
        try:
            batch: Batch = []
            size = 0
            for index, path in enumerate(paths):
                if stop.is_set():
                    return
                outcome = _read(path, file_format, known)
                if isinstance(outcome, ScanFile):
                    batch.append((index, outcome))
                    size += sum(len(scan.results) for scan in outcome.document.scans)
                    if size >= batch_results:
                        ready.put(batch)
                        batch, size = [], 0
                elif outcome is None:
                    if batch:
                        ready.put(batch)
                        batch, size = [], 0
                    ready.put(index)
                else:
                    rejected[index] = outcome
            if batch:
                ready.put(batch)
            ready.put(None)
        except BaseException as error:  # handed to the caller's thread, raised there
            ready.put(error)

    reader = threading.Thread(target=read, name="ingest-reader", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)
        reader.join()


def _read(
    path: Path, file_format: str | None, known: frozenset[tuple[str, str]]
) -> ScanFile | IngestResult | None:
    """The file's scans, its rejection, or None when it is not a scan file (imported on its own)."""
    detected = file_format
    try:
        detected = detect_file_format(path, file_format)
        if detected not in SCAN_FORMATS:
            return None
        digest = file_sha256(path)
        with path.open("rb") as raw, open_input(raw) as stream:
            document = read_scap(stream, known) if detected == "scap" else read_security_baseline(stream)
    except (RejectedFile, OSError) as error:
        return refused(path, detected, error)
    return ScanFile(name=str(path), sha256=digest, source=SCAN_FORMATS[detected], document=document)


def _import_batch(paths: Sequence[Path], batch: Batch, file_format: str | None) -> dict[int, IngestResult]:
    try:
        with transaction.atomic():
            since = timezone.now()
            outcomes = persist_scan_files([scan_file for _, scan_file in batch])
            after_ingest(since)
            record_snapshot()
    except DatabaseError:
        logger.warning(
            "a batch of %d scan files failed; importing them one by one", len(batch), exc_info=True
        )
        return {index: ingest_file(paths[index], file_format=file_format) for index, _ in batch}
    refresh_planner_statistics()
    results: dict[int, IngestResult] = {}
    for (index, scan_file), outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, RejectedFile):
            results[index] = IngestResult(
                file=scan_file.name, format=_format(scan_file), status="rejected", error=outcome.message
            )
        else:
            counts = dict(outcome)
            results[index] = IngestResult(
                file=scan_file.name,
                format=counts.pop("format", _format(scan_file)),
                status="imported",
                counts=counts,
            )
    return results


def _format(scan_file: ScanFile) -> str:
    return "securitybaseline" if scan_file.source == SCAN_FORMATS["securitybaseline"] else "scap"
