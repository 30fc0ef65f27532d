"""Benchmark: reading and importing the real OpenSCAP files against a bare lxml parse of the same bytes.

    .venv/bin/python bench/scan_import.py            # times, best of 5 interleaved rounds
    .venv/bin/python bench/scan_import.py --rss      # peak RSS of the reader, real and generated files

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default posture_bench on 127.0.0.1), recreated.
Each round times every measure once, one after the other on the same bytes, so a busy machine slows
all of them alike; the figure of a measure is its best round.

--rss reads each file in a fresh process and prints the peak RSS before and after the read: the real
files, and the RHEL 9 ARF with its OVAL definitions, OCIL questionnaires and OVAL system data repeated
(a file of a few hundred MB whose rules and results are the real file's: the reader's memory must not
grow with it).
"""

import argparse
import io
import lzma
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, SHARED, peak_rss_mb, setup_django

FILES = ["rhel9-stig.arf.xml.xz", "debian-anssi-high.arf.xml.xz"]
OSCAP = SHARED / "data" / "oscap"
# Sections of the RHEL 9 ARF the reader only skims (test comments, wanted items) or skips.
REPEATED = (
    "oval-def:definitions", "oval-def:tests", "oval-def:objects", "oval-def:states",
    "ocil:questionnaires", "ocil:test_actions", "ocil:questions", "system_data",
)  # fmt: skip
COPIES = (1, 10, 40)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--rounds", type=int, default=5)
    options.add_argument("--rss", action="store_true", help="peak RSS of the reader instead of times")
    options.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.rss_child:
        measure_rss(*args.rss_child)
    elif args.rss:
        rss_runs()
    else:
        setup_django(fresh=True)
        header = ("file", "MB", "parse s", "read s", "known s", "import s", "again s", "known/p", "again/p")
        print("{:<32} {:>6} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8}".format(*header))
        for name in FILES:
            measure(name, args.rounds)
        print(f"peak RSS {peak_rss_mb():.0f} MB (includes the decompressed files held for the runs)")


def measure(name: str, rounds: int) -> None:
    from django.db import transaction
    from lxml import etree

    from intake.pipeline import ingest_stream
    from posture.importers.xccdf import read_scap
    from recommendations.models import Benchmark, Rule, Scan

    data = lzma.decompress((OSCAP / name).read_bytes())
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    document = read_scap(io.BytesIO(data))
    assert document.benchmark is not None
    known = frozenset({(document.benchmark.benchmark_id, document.benchmark.version)})
    counter = iter(range(10_000))

    def timed(action: Callable[[], object]) -> float:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start

    def imported(*, first: bool) -> float:
        # Rolled back each run. A first import of a benchmark also fills the rule catalog; the next
        # machine scanned with the same content (the fleet case) finds the catalog there.
        with transaction.atomic():
            if first:
                Rule.objects.all().delete()
                Benchmark.objects.all().delete()
            else:
                Scan.objects.all().delete()
            sha256 = f"{next(counter):064d}"
            elapsed = timed(lambda: ingest_stream(io.BytesIO(data), file_format="scap", file_sha256=sha256))
            transaction.set_rollback(True)
        return elapsed

    ingest_stream(io.BytesIO(data), file_format="scap", file_sha256="b" * 64)
    measures: dict[str, Callable[[], float]] = {
        "parse": lambda: timed(lambda: etree.parse(io.BytesIO(data), parser)),
        "read": lambda: timed(lambda: read_scap(io.BytesIO(data))),
        "known": lambda: timed(lambda: read_scap(io.BytesIO(data), known)),
        "import": lambda: imported(first=True),
        "again": lambda: imported(first=False),
    }
    best = dict.fromkeys(measures, float("inf"))
    for _ in range(rounds):
        for label, run in measures.items():
            best[label] = min(best[label], run())
    with transaction.atomic():
        Scan.objects.all().delete()
        Rule.objects.all().delete()
        Benchmark.objects.all().delete()
    print(
        f"{name:<32} {len(data) / 1e6:>6.1f} {best['parse']:>8.3f} {best['read']:>8.3f} "
        f"{best['known']:>8.3f} {best['import']:>9.3f} {best['again']:>8.3f} "
        f"{best['known'] / best['parse']:>8.2f} {best['again'] / best['parse']:>8.2f}"
    )


def repeated_sections(data: bytes, copies: int) -> Iterator[memoryview]:
    """The ARF with the content of every REPEATED section written `copies` times, in parts."""
    cuts: list[tuple[int, int]] = []
    for name in REPEATED:
        for opening in re.finditer(rb"<" + re.escape(name.encode()) + rb">", data):
            closing = data.index(b"</" + name.encode() + b">", opening.end())
            cuts.append((opening.end(), closing))
    position = 0
    view = memoryview(data)
    for start, end in sorted(cuts):
        yield view[position:start]
        for _ in range(copies):
            yield view[start:end]
        position = end
    yield view[position:]


def rss_runs() -> None:
    print(f"{'file':<32} {'copies':>6} {'MB':>6} {'RSS before MB':>14} {'peak MB':>8} {'growth MB':>10}")
    runs = [(name, 1) for name in FILES] + [(FILES[0], copies) for copies in COPIES[1:]]
    for name, copies in runs:
        data = lzma.decompress((OSCAP / name).read_bytes())
        with tempfile.NamedTemporaryFile(suffix=".xml") as generated:
            generated.writelines(repeated_sections(data, copies))
            generated.flush()
            command = [sys.executable, __file__, "--rss-child", generated.name, f"{name} {copies}"]
            subprocess.run(command, check=True, cwd=ROOT)


def high_water_mb() -> float:
    # This process's own peak (Linux): getrusage's would count the parent's pages it started from.
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024  # type: ignore[index]


def measure_rss(path: str, label: str) -> None:
    """Read one file in this fresh process: the peak RSS before (Django loaded) and after."""
    os.environ.setdefault("POSTURE_SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from posture.importers.xccdf import read_scap

    name, copies = label.split()
    before = high_water_mb()
    with open(path, "rb") as stream:
        document = read_scap(stream)
    after = high_water_mb()
    assert document.scans[0].results
    size = os.path.getsize(path)
    print(f"{name:<32} {copies:>6} {size / 1e6:>6.0f} {before:>14.0f} {after:>8.0f} {after - before:>10.0f}")


if __name__ == "__main__":
    main()
