"""Many scan files imported in one run, in batches, end exactly as the same files imported one at a time
(each a run and a batch of its own): a machine scanned in several files of a batch, a file listed twice,
a late older scan, a rejected file among them change nothing to that."""

import io
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from intake.pipeline import IngestResult, ingest_file, ingest_files
from recommendations.findings import Latest, ResultRow, _derive, advance
from recommendations.models import Assessment, Finding, MachineTally, Rule, RuleTally, Scan, ScanResult
from recommendations.tallies import rebuild_tallies
from tests.scans import T0, baseline_row
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db(transaction=False)

RULES = [f"rule_{i:02d}" for i in range(12)]
CCES = {name: f"CCE-{80000 + i}-{i % 10}" for i, name in enumerate(RULES) if i % 3}
VALUES = ["fail", "pass", "pass", "error", "notapplicable", "notchecked", "fail", "unknown"]
INVENTORY = (
    "resource_id,name,kind,os,subscription\n"
    "vm:alpha,alpha,vm,linux,prod\nvm:beta,beta,vm,linux,prod\n"
    "vm:gamma,gamma,vm,linux,lab\narc:delta,delta,arc_machine,linux,lab\n"
    "vm:winny,winny,vm,windows,prod\n"
)


def fleet_files(folder: Path, seed: int) -> list[Path]:
    """An inventory, then scans of known and unknown hosts at shuffled times: older scans arriving late,
    a file repeated, a full benchmark among bare results, a Windows baseline, one file naming no host."""
    rng = random.Random(seed)
    files = [folder / "inventory.csv"]
    files[0].write_text(INVENTORY)
    hosts = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    for n in range(24):
        host = rng.choice(hosts)
        when = T0 + timedelta(days=rng.randrange(30), minutes=n)
        results = {name: rng.choice(VALUES) for name in rng.sample(RULES, rng.randrange(6, len(RULES)))}
        document = xccdf_result(host=host, results=results, when=when, cces=CCES, bare=n % 5 != 0)
        path = folder / f"scan-{n:02d}.xml"
        path.write_bytes(document)
        files.append(path)
        if n == 7:
            files.append(path)  # the same file twice
    nameless = folder / "nameless.xml"
    nameless.write_bytes(xccdf_result(host="", results={"rule_00": "fail"}, when=T0, bare=True))
    files.insert(9, nameless)
    # Windows exports list their rules: the same list again, a changed one, then the first again.
    for n, (description, day) in enumerate([("", 7), ("", 8), ("Changed wording", 9), ("", 10)]):
        baseline = folder / f"winny-{n}.json"
        extra = {"Description": description} if description else {}
        moment = {"TimeGenerated": (T0 + timedelta(days=day)).isoformat()}
        baseline.write_text(
            json.dumps(
                [
                    baseline_row("winny", "CCE-37615-2", rng.choice(["Failed", "Passed"]), **extra, **moment),
                    baseline_row("winny", "CCE-38347-1", "Passed", **moment),
                ]
            )
        )
        files.insert(14 + 3 * n, baseline)
    return files


def state() -> dict[str, Any]:
    found = facts()
    rebuild_tallies()
    rebuilt = facts()
    # The tallies kept current import by import are what a rebuild from the findings gives.
    assert found["rule_tallies"] == rebuilt["rule_tallies"]
    assert found["machine_tallies"] == rebuilt["machine_tallies"]
    return found


def facts() -> dict[str, Any]:
    """Every stored fact, by natural keys (ids and write times differ between two imports)."""
    return {
        "scans": sorted(
            Scan.objects.values_list("resource__resource_id", "file_sha256", "scanned_at", "result_counts")
        ),
        "results": sorted(
            ScanResult.objects.values_list(
                "scan__resource__resource_id", "scan__file_sha256", "rule__key", "result"
            )
        ),
        "findings": sorted(
            Finding.objects.values_list(
                "resource__resource_id",
                "rule__key",
                "state",
                "result",
                "severity",
                "expected",
                "actual",
                "first_seen",
                "last_seen",
                "resolved_at",
                "scan__file_sha256",
            )
        ),
        "rule_tallies": sorted(
            RuleTally.objects.exclude(evaluated_count=0, open_count=0, passing_count=0).values_list(
                "subscription__name",
                "machine_os",
                "machine_kind",
                "rule__key",
                "open_count",
                "passing_count",
                "evaluated_count",
            )
        ),
        "machine_tallies": sorted(
            (r, n, json.dumps(s, sort_keys=True))
            for r, n, s in MachineTally.objects.values_list(
                "resource__resource_id", "open_count", "by_severity"
            )
        ),
        "rules": sorted(
            Rule.objects.values_list("key", "rule_id", "title", "description", "severity", "rule_type", "os")
        ),
        "assessments": sorted(
            Assessment.objects.values_list("resource__resource_id", "recommendation__key", "status", "reason")
        ),
    }


def outcome(results: list[IngestResult]) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    ignored = {"scan_id"}
    return [
        (
            Path(r.file).name,
            r.status,
            r.error,
            {k: v for k, v in r.counts.items() if k not in ignored and not k.startswith("items_")},
        )
        for r in results
    ]


class Rollback(Exception):
    pass


def imported(action: Any) -> tuple[Any, dict[str, Any]]:
    """Run an import and read what it stored, then undo it (so both ways start from the same state)."""
    seen: dict[str, Any] = {}
    try:
        with transaction.atomic():
            seen["results"] = action()
            seen["state"] = state()
            raise Rollback
    except Rollback:
        pass
    return seen["results"], seen["state"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_store_what_one_file_at_a_time_stores(tmp_path: Path, seed: int) -> None:
    files = fleet_files(tmp_path, seed)
    # Small batches: machines recur across batches and within one, both ways of deriving findings run.
    batched, batched_state = imported(lambda: ingest_files(files, batch_results=40))
    single, single_state = imported(lambda: [ingest_file(path) for path in files])
    assert outcome(batched) == outcome(single)
    for name in single_state:
        assert batched_state[name] == single_state[name], name
    assert any(r.status == "rejected" for r in single), "the nameless file must be rejected"
    assert len(single_state["findings"]) > 20
    assert {row[2] for row in single_state["findings"]} >= {"open", "resolved", "passed"}


def test_the_ingest_command_takes_many_files(tmp_path: Path) -> None:
    files = fleet_files(tmp_path, 5)
    out = io.StringIO()
    with pytest.raises(Exception, match="1 of 31 file"):
        call_command("ingest", *map(str, files), stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(files)
    assert "nameless.xml: rejected: the scan names no host" in lines[9]
    assert Scan.objects.count() == 28  # 24 scans and 4 Windows baselines


def rows_strategy(rng: random.Random, length: int) -> list[ResultRow]:
    return [
        ResultRow(i, T0 + timedelta(hours=i), rng.choice([*VALUES, "informational", "fixed"]), "high", "", "")
        for i in range(length)
    ]


def test_advancing_a_finding_equals_deriving_it_from_the_whole_history() -> None:
    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        rows = rows_strategy(rng, rng.randrange(1, 9))
        values = _derive(rows[:1])
        for cut in range(1, len(rows)):
            first_seen, resolved_at = values["first_seen"], values["resolved_at"]
            assert first_seen is None or isinstance(first_seen, datetime)
            assert resolved_at is None or isinstance(resolved_at, datetime)
            previous = Latest(str(values["state"]), str(values["result"]), first_seen, resolved_at)
            advanced = advance(previous, rows[cut])
            values = _derive(rows[: cut + 1])
            if advanced is not None:
                assert advanced == values, rows[: cut + 1]
                checked += 1
    assert checked > 10000
    for row in rows_strategy(rng, 50):
        assert advance(None, row) == _derive([row])
