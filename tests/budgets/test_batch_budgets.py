"""Query budget of batched ingest: a batch of scan files costs the same queries for 4 machines as for 40,
first scans or rescans, so a fleet's import grows by rows, never by round trips."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake.pipeline import ingest_files, ingest_stream
from tests.scans import T0
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

RULES = {f"rule_{i:02d}": "fail" if i % 3 else "pass" for i in range(30)}
CCES = {name: f"CCE-{81000 + i}-{i % 10}" for i, name in enumerate(RULES)}
# Ceilings, the same on SQLite and PostgreSQL apart from how many INSERT statements a bulk write takes
# (SQLite's variable limit splits them), which are not counted.
# (First scans read the machines' stored findings too: findings outlive deleted scans. The OS
# configuration verdicts read when the open failed rules were first seen: their due dates' evidence.)
FIRST_SCANS = 40
RESCANS = 40


def scan_files(folder: Path, prefix: str, machines: int, day: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(machines):
        results = dict(RULES)
        if day:
            results[f"rule_{i % 30:02d}"] = "pass"  # each rescan fixes a rule
        host = f"{prefix}{i:03d}"
        path = folder / f"{host}-day{day}.xml"
        when = T0 + timedelta(days=day)
        path.write_bytes(xccdf_result(host=host, results=results, when=when, cces=CCES, bare=True))
        paths.append(path)
    return paths


def not_inserts(paths: list[Path]) -> int:
    with CaptureQueriesContext(connection) as queries:
        results = ingest_files(paths)
    assert all(r.status == "imported" for r in results), [r.error for r in results]
    return sum(1 for q in queries.captured_queries if not q["sql"].startswith("INSERT INTO"))


def inventory(prefix: str, machines: int) -> None:
    rows = "".join(f"vm:{prefix}{i:03d},{prefix}{i:03d},vm,linux,prod\n" for i in range(machines))
    ingest_stream(
        io.BytesIO(f"resource_id,name,kind,os,subscription\n{rows}".encode()), file_format="inventory"
    )


def costs(folder: Path, prefix: str, machines: int) -> tuple[int, int]:
    inventory(prefix, machines)
    first = not_inserts(scan_files(folder, prefix, machines, day=0))
    again = not_inserts(scan_files(folder, prefix, machines, day=1))
    return first, again


def test_a_batch_of_scans_costs_the_same_queries_for_4_machines_as_for_40(tmp_path: Path) -> None:
    costs(tmp_path / "warm", "warm", 1)  # the rules enter the catalog: not what is measured
    small = costs(tmp_path / "small", "small", 4)
    big = costs(tmp_path / "big", "big", 40)
    assert small == big, (small, big)
    first, again = big
    assert first <= FIRST_SCANS, first
    assert again <= RESCANS, again
