"""Property: importing a file twice leaves the database as importing it once; and scans of a machine
give the same findings whatever order their files arrive in (recommendations/findings.py).

Files are generated valid for each format: XCCDF results (tests/scap_builder.py: random hosts, results
among every XCCDF value, random CCEs), inventory CSV rows, Defender Resource Graph JSON, SecurityBaseline
CSV and kubectl dumps (a random part of a fixture cluster's objects). Each goes through
intake.pipeline.ingest_file as an upload does.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps
from hypothesis import example, given
from hypothesis import strategies as st

from intake.pipeline import ingest_file
from recommendations.models import Assessment, Finding
from tests.properties.examples import CI_IMPORTS, LONG, forgetting
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
XCCDF_RESULTS = (
    "pass",
    "fail",
    "error",
    "unknown",
    "notapplicable",
    "notchecked",
    "notselected",
    "informational",
    "fixed",
)
# What an import may legitimately change on a second run of the same file: when a row was last
# written (auto_now) or when a file was read. The audit log and import jobs record every import as an
# event of its own by design, so they are not part of the state either.
MOVING_FIELDS = {"updated_at", "imported_at", "loaded_at"}
EVENT_MODELS = {"AuditEvent", "ImportJob"}
# Rows a dump replaces wholesale (the cluster's current violations): same content, new ids.
REPLACED_MODELS = {"AppArmorViolation"}
APPS = ("posture", "recommendations", "scoring", "governance")


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of Posture's own tables, without the moving fields."""
    state = {}
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            name = model.__name__
            if name in EVENT_MODELS:
                continue
            drop = MOVING_FIELDS | ({"id"} if name in REPLACED_MODELS else set())
            rows = [
                {k: v for k, v in row.items() if k not in drop}
                for row in model._default_manager.order_by("pk").values()
            ]
            if name in REPLACED_MODELS:
                rows.sort(key=repr)
            state[name] = rows
    # The many-to-many tables (controls' recommendations, groups' subscriptions) too.
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            for m2m in model._meta.many_to_many:
                through = m2m.remote_field.through
                assert through is not None
                state[through._meta.db_table] = list(through._default_manager.order_by("pk").values())
    return state


# Generators of valid files.
words = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
hosts = st.builds(lambda a, b: f"{a}-{b}", words, words)
# Free text a file may carry (titles, values, names): any printable character, stripped as importers do.
texts = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20).map(str.strip)
cces = st.builds(lambda n, d: f"CCE-{n}-{d}", st.integers(1000, 99999), st.integers(0, 9))
moments = st.datetimes(datetime(2026, 1, 1), datetime(2026, 11, 29), timezones=st.just(UTC)).map(
    lambda t: t.replace(microsecond=0)
)


@st.composite
def xccdf_files(draw: st.DrawFn, host: str | None = None) -> bytes:
    rules = draw(st.lists(words, min_size=1, max_size=8, unique=True))
    return xccdf_result(
        host=host or draw(hosts),
        results={rule: draw(st.sampled_from(XCCDF_RESULTS)) for rule in rules},
        when=draw(moments),
        cces={rule: draw(cces) for rule in rules if draw(st.booleans())},
        severities={rule: draw(st.sampled_from(["low", "medium", "high", "unknown"])) for rule in rules},
        titles={rule: draw(texts.filter(bool)) for rule in rules if draw(st.booleans())},
        bare=draw(st.booleans()),
    )


@st.composite
def inventory_files(draw: st.DrawFn) -> bytes:
    names = draw(st.lists(hosts, min_size=1, max_size=8, unique=True))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["resource_id", "name", "kind", "os", "subscription", "resource_group", "tags", "power_state"]
    )
    for name in names:
        kind = draw(st.sampled_from(["vm", "arc_machine", "vmss", "k8s_cluster"]))
        os = draw(st.sampled_from(["linux", "windows"])) if kind in ("vm", "arc_machine") else ""
        tags = ";".join(f"{k}={v}" for k, v in draw(st.dictionaries(words, words, max_size=3)).items())
        writer.writerow(
            [
                f"onprem:{name}",
                draw(texts.filter(bool)),
                kind,
                os,
                draw(st.sampled_from(["Datacenter", "Lab", "Édge ☁"])),
                draw(texts),
                tags,
                draw(st.sampled_from(["", "running", "stopped", "deallocated"])),
            ]
        )
    return out.getvalue().encode()


def catalog_assessment_keys() -> list[str]:
    catalog = json.loads((FIXTURES.parent.parent / "recommendations/catalog/catalog.json").read_text())
    return [r["assessment_key"] for r in catalog["recommendations"] if r.get("assessment_key")]


ASSESSMENT_KEYS = catalog_assessment_keys()
SUBSCRIPTION_IDS = ["3f2a9c1e-0000-4000-8000-00000000a001", "3f2a9c1e-0000-4000-8000-00000000a002"]


@st.composite
def defender_files(draw: st.DrawFn) -> bytes:
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(SUBSCRIPTION_IDS), words, st.sampled_from([*ASSESSMENT_KEYS, "0000-unknown"])
            ),
            min_size=1,
            max_size=12,
            unique_by=lambda p: (p[1], p[2]),
        )
    )
    records = []
    for sub, vm, key in pairs:
        group = f"/subscriptions/{sub}/resourceGroups/rg-{vm[:3]}"
        resource = f"{group}/providers/Microsoft.Compute/virtualMachines/{vm}"
        first = draw(moments)
        records.append(
            {
                "id": f"{resource}/providers/Microsoft.Security/assessments/{key}",
                "name": key,
                "type": "microsoft.security/assessments",
                "subscriptionId": sub,
                "properties": {
                    "displayName": "",
                    "resourceDetails": {"Source": "Azure", "Id": resource},
                    "status": {
                        "code": draw(st.sampled_from(["Healthy", "Unhealthy", "NotApplicable"])),
                        "cause": draw(st.sampled_from(["", "OffByPolicy", "Exempt"])),
                        "description": draw(texts),
                        "firstEvaluationDate": first.isoformat(),
                        "statusChangeDate": (first + timedelta(hours=draw(st.integers(0, 500)))).isoformat(),
                    },
                },
            }
        )
    document: Any = {"count": len(records), "data": records} if draw(st.booleans()) else records
    return json.dumps(document).encode()


BASELINE_HEADER = (FIXTURES / "securitybaseline/dc-lon-07.csv").read_text().splitlines()[0].split(",")


@st.composite
def baseline_files(draw: st.DrawFn) -> bytes:
    computers = draw(st.lists(hosts, min_size=1, max_size=3, unique=True))
    rules = draw(st.lists(cces, min_size=1, max_size=8, unique=True))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BASELINE_HEADER)
    when = draw(moments)
    for computer in computers:
        for rule in rules:
            writer.writerow(
                [
                    when.strftime("%m/%d/%Y, %I:%M:%S.000 %p"),
                    computer,
                    "",
                    "",
                    "Windows Server 2022",
                    "WindowsOS",
                    draw(st.sampled_from(["Registry Key", "Security Policy", "Audit Policy"])),
                    rule,
                    draw(texts),
                    draw(st.sampled_from(["Critical", "Warning", "Informational"])),
                    "Setting",
                    draw(texts),
                    draw(texts),
                    draw(st.sampled_from(["Passed", "Failed"])),
                    "Equals",
                ]
            )
    return out.getvalue().encode()


KIND_CLUSTER = json.loads((FIXTURES / "kubernetes/lab-kind.wrapped.json").read_text())
CLUSTER_INVENTORY = b"resource_id,name,kind,os,subscription\nonprem:lab-kind,lab-kind,k8s_cluster,,Lab\n"


@st.composite
def kubectl_files(draw: st.DrawFn) -> bytes:
    """The namespaces (a dump without them is refused as partial) and some of the other objects."""
    items = KIND_CLUSTER["list"]["items"]
    others = [i for i, item in enumerate(items) if item["kind"] != "Namespace"]
    chosen = set(draw(st.lists(st.sampled_from(others), unique=True)))
    kept = [item for i, item in enumerate(items) if item["kind"] == "Namespace" or i in chosen]
    # The wrapper may name the cluster by its name or its resource id.
    cluster = draw(st.sampled_from(["lab-kind", "onprem:lab-kind"]))
    return json.dumps({"cluster": cluster, "list": {**KIND_CLUSTER["list"], "items": kept}}).encode()


FORMATS: dict[str, st.SearchStrategy[bytes]] = {
    "scap": xccdf_files(),
    "inventory": inventory_files(),
    "defender": defender_files(),
    "securitybaseline": baseline_files(),
    "kubernetes": kubectl_files(),
}


def imported(path: Path, content: bytes) -> dict[str, Any]:
    path.write_bytes(content)
    result = ingest_file(path)
    assert result.status == "imported", result.error
    return result.counts


def check_idempotent(tmp_path: Path, file_format: str, content: bytes, before: list[bytes]) -> None:
    with time_machine.travel(NOW), forgetting():
        imported(tmp_path / "setup", CLUSTER_INVENTORY)
        for number, earlier in enumerate(before):
            # What was there already: an inventory or earlier scans the file's machines match.
            imported(tmp_path / f"earlier-{number}", earlier)
        first = imported(tmp_path / "file", content)
        assert first.get("format", file_format) == file_format or file_format == "scap"
        once = database_state()
        imported(tmp_path / "file", content)
        assert database_state() == once


@pytest.mark.parametrize("file_format", list(FORMATS))
@given(data=st.data())
@CI_IMPORTS
def test_importing_a_file_twice_changes_nothing_more(
    tmp_path: Path, file_format: str, data: st.DataObject
) -> None:
    content = data.draw(FORMATS[file_format], label="file")
    before = data.draw(
        st.lists(st.sampled_from(list(FORMATS.values())).flatmap(lambda s: s), max_size=2), label="before"
    )
    check_idempotent(tmp_path, file_format, content, before)


@pytest.mark.long
@pytest.mark.parametrize("file_format", list(FORMATS))
@given(data=st.data())
@LONG
def test_importing_a_file_twice_changes_nothing_more_long(
    tmp_path: Path, file_format: str, data: st.DataObject
) -> None:
    content = data.draw(FORMATS[file_format], label="file")
    before = data.draw(
        st.lists(st.sampled_from(list(FORMATS.values())).flatmap(lambda s: s), max_size=3), label="before"
    )
    check_idempotent(tmp_path, file_format, content, before)


# Scans of one machine arriving in either order.


def findings_by_name() -> dict[tuple[str, str], tuple[Any, ...]]:
    """The findings by machine and rule, naming the scan they come from by its file (ids depend on the
    order of the imports)."""
    return {
        (f.resource.name, f.rule.key): (
            f.state,
            f.result,
            f.severity,
            f.expected,
            f.actual,
            f.first_seen,
            f.last_seen,
            f.resolved_at,
            f.scan.file_sha256 if f.scan else None,
        )
        for f in Finding.objects.select_related("resource", "rule", "scan")
    }


def outcome() -> tuple[dict[tuple[str, str], tuple[Any, ...]], dict[tuple[str, str], tuple[str, str]]]:
    """The findings, and the assessments derived from them."""
    assessments = {
        (a.resource.name, a.recommendation.key): (a.status, a.reason)
        for a in Assessment.objects.select_related("resource", "recommendation")
    }
    return findings_by_name(), assessments


def in_order(tmp_path: Path, files: list[bytes]) -> Any:
    with time_machine.travel(NOW), forgetting():
        for number, content in enumerate(files):
            imported(tmp_path / f"scan-{number}", content)
        return outcome()


@st.composite
def scan_sets(draw: st.DrawFn) -> list[bytes]:
    """Two or three scans of one or two machines sharing rules (a rule failing, then passing...)."""
    machines = draw(st.lists(hosts, min_size=1, max_size=2, unique=True))
    rules = draw(st.lists(words, min_size=1, max_size=5, unique=True))
    files = []
    for _ in range(draw(st.integers(2, 3))):
        files.append(
            xccdf_result(
                host=draw(st.sampled_from(machines)),
                results={rule: draw(st.sampled_from(XCCDF_RESULTS)) for rule in rules if draw(st.booleans())}
                or {rules[0]: "fail"},
                when=draw(moments),
                cces={rule: f"CCE-{1000 + i}-{i % 10}" for i, rule in enumerate(rules)},
                severities={rule: draw(st.sampled_from(["low", "high"])) for rule in rules},
            )
        )
    return files


def check_order_free(tmp_path: Path, files: list[bytes], permutation: tuple[int, ...]) -> None:
    order = [i for i in permutation if i < len(files)]
    forward = in_order(tmp_path, files)
    other = in_order(tmp_path, [files[i] for i in order])
    assert other == forward


SAME_MOMENT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
# Found by this property: two scans of a machine taken at the same moment were ordered by arrival, so
# whichever came last decided the finding (open or passed). They are now ordered by their file's hash.
TIED_SCANS = [
    xccdf_result(host="m-1", results={"r": "fail"}, when=SAME_MOMENT, cces={"r": "CCE-1000-0"}),
    xccdf_result(host="m-1", results={"r": "pass"}, when=SAME_MOMENT, cces={"r": "CCE-1000-0"}),
]


@given(files=scan_sets(), permutation=st.permutations(range(3)))
@example(files=TIED_SCANS, permutation=(1, 0, 2))
@CI_IMPORTS
def test_scans_give_the_same_findings_in_any_order(
    tmp_path: Path, files: list[bytes], permutation: tuple[int, ...]
) -> None:
    check_order_free(tmp_path, files, permutation)


@pytest.mark.long
@given(files=scan_sets(), permutation=st.permutations(range(3)))
@LONG
def test_scans_give_the_same_findings_in_any_order_long(
    tmp_path: Path, files: list[bytes], permutation: tuple[int, ...]
) -> None:
    check_order_free(tmp_path, files, permutation)
