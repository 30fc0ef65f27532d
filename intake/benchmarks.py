"""Loads every rule of a SCAP data stream or XCCDF benchmark into the catalog, before any scan of it."""

from pathlib import Path
from typing import Any

from django.db import transaction

from intake.persist.rules import upsert_benchmark, upsert_rules
from intake.reading import decompressed_limit
from posture.errors import RejectedFile
from posture.importers.compression import open_input
from posture.importers.xccdf import read_scap


@transaction.atomic
def load_benchmark_file(path: Path) -> dict[str, Any]:
    """Load the file's benchmark and rules (a newer version refreshes them); returns what changed."""
    try:
        with path.open("rb") as raw, open_input(raw, limit=decompressed_limit()) as stream:
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
