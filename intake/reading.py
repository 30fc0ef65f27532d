"""The read stage: each file's format, digest and content, read ahead of the writes.

A thread reads the next files while the database writes the batch before, and hands them over in
batches: scan files (OpenSCAP, SecurityBaseline) together, up to about BATCH_RESULTS rule results or
BATCH_BYTES of content (real ARFs carry megabytes of OVAL evidence a rule result: a batch of them is
written while the next is read, and their records are never all held at once); any other file alone.
Scan files and kubectl dumps are read whole here; an inventory's or a Defender export's records are
read as the persist stage takes them, inside its transaction, so memory stays flat and a bad record
anywhere rolls back what the records before it wrote.
"""

import contextlib
import hashlib
import io
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from intake.persist.scans import ScanFile
from posture.errors import RejectedFile
from posture.importers.asff import read_asff
from posture.importers.aws_ec2 import read_ec2_instances
from posture.importers.aws_ssm import read_ssm_instances
from posture.importers.compression import open_input
from posture.importers.defender import read_defender
from posture.importers.defender_score import read_defender_scores
from posture.importers.detect import FORMATS, detect_format
from posture.importers.gcp_compute import read_gce_instances
from posture.importers.inventory import read_inventory
from posture.importers.kubernetes import KubernetesDump, read_kubernetes
from posture.importers.prowler_ocsf import read_prowler_ocsf
from posture.importers.securitybaseline import read_security_baseline
from posture.importers.xccdf import read_scap

BATCH_RESULTS = 100_000
BATCH_BYTES = 256 * 2**20
READ_AHEAD = 2
SCAN_FORMATS = {"scap": "OpenSCAP scan", "securitybaseline": "SecurityBaseline export"}
# The clouds' own inventories and agent reports: machines, persisted by intake/persist/cloud_machines.py.
CLOUD_READERS: dict[str, Callable[[IO[bytes]], Iterator[Any]]] = {
    "aws-ec2": read_ec2_instances,
    "aws-ssm": read_ssm_instances,
    "gcp-compute": read_gce_instances,
}
# The clouds' security tools' findings, persisted by intake/persist/cloud_findings.py.
FINDING_READERS: dict[str, Callable[[IO[bytes]], Iterator[Any]]] = {
    "asff": read_asff,
    "prowler-ocsf": read_prowler_ocsf,
}
RECORD_READERS: dict[str, Callable[[IO[bytes]], Iterator[Any]]] = {
    "inventory": read_inventory,
    "defender": read_defender,
    "defender-score": read_defender_scores,
    **CLOUD_READERS,
    **FINDING_READERS,
}

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class Source:
    """A file to import: a path, or a stream already open (its format then given)."""

    name: str
    path: Path | None = None
    stream: IO[bytes] | None = None
    file_format: str | None = None
    resource_hint: str | None = None
    sha256: str = ""
    progress: Progress | None = None


@dataclass
class ReadFile:
    """One file as the read stage leaves it: its scans, its dump, its records still to read, or why it
    is refused."""

    index: int
    source: Source
    format: str | None
    sha256: str = ""
    scans: ScanFile | None = None
    dump: KubernetesDump | None = None
    records: Generator[Any, None, None] | None = None
    refused: RejectedFile | None = None
    seconds: float = 0.0
    # The content read (decompressed) of a scan file.
    size: int = 0

    @property
    def weight(self) -> int:
        """How much work the file is, to share a batch's time out: its rule results, else one."""
        if self.scans is None:
            return 1
        return max(1, sum(len(scan.results) for scan in self.scans.document.scans))


def decompressed_limit() -> int:
    """The most an xz or gzip file may decompress to (POSTURE_MAX_DECOMPRESSED_BYTES)."""
    return int(settings.POSTURE_MAX_DECOMPRESSED_BYTES)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def detect_file_format(path: Path, file_format: str | None) -> str:
    """The format asked for, else the one the file's first bytes show (compressed files are opened)."""
    with path.open("rb") as head, open_input(head, limit=decompressed_limit()) as stream:
        start = stream.read(8192)
    return file_format or detect_format(start)


def refusal(error: RejectedFile | OSError) -> RejectedFile:
    """Why a file could not be imported, as the user reads it."""
    if isinstance(error, RejectedFile):
        return error
    return RejectedFile(f"cannot read the file: {error.strerror}")


def read_batches(
    sources: Sequence[Source], known: frozenset[tuple[str, str]], batch_results: int = BATCH_RESULTS
) -> Iterator[list[ReadFile]]:
    """The files read, in batches, in the order given: a file of another format than scans comes
    after the batch before it, so an inventory listed before scans is in before their machines are
    matched. `known` are the benchmark versions in the catalog (their rules are not read again)."""
    ready: queue.Queue[list[ReadFile] | BaseException | None] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def read_all() -> None:
        try:
            batch: list[ReadFile] = []
            size = content = 0
            for index, source in enumerate(sources):
                if stop.is_set():
                    return
                started = time.perf_counter()
                read = read_file(index, source, known)
                read.seconds = time.perf_counter() - started
                if read.refused is not None or read.scans is not None:
                    batch.append(read)
                    size += read.weight if read.scans is not None else 0
                    content += read.size
                    if size >= batch_results or content >= BATCH_BYTES:
                        ready.put(batch)
                        batch, size, content = [], 0, 0
                    continue
                if batch:
                    ready.put(batch)
                    batch, size, content = [], 0, 0
                ready.put([read])
            if batch:
                ready.put(batch)
            ready.put(None)
        except BaseException as error:  # handed to the caller's thread, raised there
            ready.put(error)

    reader = threading.Thread(target=read_all, name="intake-reader", daemon=True)
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


def read_file(index: int, source: Source, known: frozenset[tuple[str, str]]) -> ReadFile:
    """One file read (its records, for an inventory or a Defender export, left for the persist stage),
    or refused with the reason: its format, its content, or an option that does not apply to it."""
    read = ReadFile(index=index, source=source, format=source.file_format)
    try:
        read.format = _format(source)
        read.sha256 = _sha256(source)
        if source.resource_hint and read.format in RECORD_READERS:
            raise RejectedFile(
                f"--resource applies to scan results and kubectl dumps, not to a {read.format} file"
            )
        if read.format in SCAN_FORMATS:
            with _opened(source) as stream:
                document = (
                    read_scap(stream, known) if read.format == "scap" else read_security_baseline(stream)
                )
                read.size = _position(stream)
            read.scans = ScanFile(
                name=source.name,
                sha256=read.sha256,
                source=SCAN_FORMATS[read.format],
                document=document,
                resource_hint=source.resource_hint,
            )
        elif read.format == "kubernetes":
            with _opened(source) as stream:
                read.dump = read_kubernetes(stream)
        elif read.format in RECORD_READERS:
            read.records = _records(source, RECORD_READERS[read.format])
        else:
            raise RejectedFile(f"unknown format {read.format!r}; one of: {', '.join(FORMATS)}")
    except (RejectedFile, OSError) as error:
        read.refused = refusal(error)
    return read


def _format(source: Source) -> str:
    if source.path is None:
        if not source.file_format:
            raise RejectedFile("the format of a stream must be given")
        return source.file_format
    return detect_file_format(source.path, source.file_format)


def _sha256(source: Source) -> str:
    if source.sha256:
        return source.sha256
    if source.path is not None:
        return file_sha256(source.path)
    assert source.stream is not None
    if not source.stream.seekable():
        return ""
    digest = hashlib.sha256(source.stream.read()).hexdigest()
    source.stream.seek(0)
    return digest


def _position(stream: IO[bytes]) -> int:
    """How much of the stream was read (0 when it cannot say: a pipe)."""
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[IO[bytes]]:
    """The file's content, decompressed; reading it reports progress when the source asks."""
    if source.path is None:
        assert source.stream is not None
        if source.stream.seekable():
            source.stream.seek(0)  # read again when its batch is imported again file by file
        yield source.stream
        return
    with source.path.open("rb") as plain:
        raw: IO[bytes] = plain
        if source.progress is not None:
            raw = io.BufferedReader(_ProgressReader(plain, source.path.stat().st_size, source.progress))
        with open_input(raw, limit=decompressed_limit()) as stream:
            yield stream


def _records(source: Source, reader: Callable[[IO[bytes]], Iterator[Any]]) -> Generator[Any, None, None]:
    """The file's records, the file opened when the first is asked for and closed after the last."""
    with _opened(source) as stream:
        yield from reader(stream)


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
