"""Benchmark: importing the real OpenSCAP files against a bare lxml parse of the same bytes.

    .venv/bin/python bench/scan_import.py

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default posture_bench on 127.0.0.1), recreated.
"""

import io
import lzma
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SHARED, best_of, peak_rss_mb, setup_django

FILES = ["rhel9-stig.arf.xml.xz", "debian-anssi-high.arf.xml.xz"]
RUNS = 5


def main() -> None:
    setup_django(fresh=True)
    print(
        f"{'file':<32} {'MB':>6} {'parse s':>8} {'read s':>8} {'import s':>9} {'again s':>8} {'x parse':>8}"
    )
    for name in FILES:
        measure(name)
    print(f"peak RSS {peak_rss_mb():.0f} MB (includes the decompressed files held for the runs)")


def measure(name: str) -> None:
    from django.db import transaction
    from lxml import etree

    from intake.pipeline import ingest_stream
    from posture.importers.xccdf import read_scap
    from recommendations.models import Scan

    data = lzma.decompress((SHARED / "data" / "oscap" / name).read_bytes())
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    parse = best_of(RUNS, lambda: etree.parse(io.BytesIO(data), parser))
    read = best_of(RUNS, lambda: read_scap(io.BytesIO(data)))

    def first_import() -> None:
        # The first import of a benchmark also fills the rule catalog; rolled back each run.
        with transaction.atomic():
            ingest_stream(io.BytesIO(data), file_format="scap", file_sha256="a" * 64)
            transaction.set_rollback(True)

    first = best_of(RUNS, first_import)
    ingest_stream(io.BytesIO(data), file_format="scap", file_sha256="b" * 64)
    counter = iter(range(10_000))

    def repeat_import() -> None:
        # The fleet case: another scan with the same content, the catalog already there.
        with transaction.atomic():
            Scan.objects.all().delete()
            ingest_stream(io.BytesIO(data), file_format="scap", file_sha256=f"{next(counter):064d}")
            transaction.set_rollback(True)

    again = best_of(RUNS, repeat_import)
    print(
        f"{name:<32} {len(data) / 1e6:>6.1f} {parse:>8.3f} {read:>8.3f} {first:>9.3f} {again:>8.3f} "
        f"{again / parse:>8.2f}"
    )


if __name__ == "__main__":
    main()
