"""Real input files to mutate, per importer format, cut down to a size a corpus of hundreds can afford.

The OpenSCAP ARF reports of shared/data are 8 to 30 MB unpacked: `shrink_arf` keeps a handful of their
rules (failed, passed, not applicable, with and without CCE), the TestResult's results for them, the
asset and the OVAL definitions, tests, objects, states and items those rules reach, so a seed is still
the real document's shape (data stream, asset, XCCDF, OVAL results) at a few dozen kilobytes.
"""

import csv
import functools
import io
import json
import lzma
import re
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from tests.scap_builder import xccdf_result

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = REPO.parent / "shared" / "data"
OSCAP = SHARED / "oscap"
# Clusters the kubectl seeds name; the corpus test registers them so a good dump imports.
AKS = (
    "/subscriptions/3f2a9c1e-0000-4000-8000-00000000a001/resourceGroups/prod-k8s/providers/"
    "Microsoft.ContainerService/managedClusters/aks-prod"
)
ARC = (
    "/subscriptions/3f2a9c1e-0000-4000-8000-00000000a001/resourceGroups/edge/providers/"
    "Microsoft.Kubernetes/connectedClusters/arc-edge"
)
LAB = "onprem:lab-kind"
# Results kept from a real scan, per result value.
KEEP_RESULTS = {"fail": 3, "pass": 3, "notapplicable": 2, "notselected": 2}
OVAL_ID = re.compile(r"^(oval:[^\s]+|\d+)$")


def _localname(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def shrink_arf(raw: bytes) -> bytes:
    """A real ARF report cut down to a few of its rules, results and the OVAL evidence they reach."""
    # A trusted, real file: parsed whole, with libxml2's limits lifted for its big OVAL sections.
    root = etree.fromstring(raw, etree.XMLParser(huge_tree=True, remove_blank_text=True))
    test_result = next(e for e in root.iter() if _localname(e) == "TestResult")
    wanted: dict[str, int] = dict(KEEP_RESULTS)
    kept: set[str] = set()
    for rule_result in [e for e in test_result if _localname(e) == "rule-result"]:
        result = next((c.text for c in rule_result if _localname(c) == "result"), "")
        if wanted.get(result or "", 0) > 0:
            wanted[result or ""] -= 1
            kept.add(rule_result.get("idref", ""))
        else:
            test_result.remove(rule_result)
    for rule in [e for e in root.iter() if _localname(e) == "Rule" and e.get("id") not in kept]:
        _remove(rule)
    for select in [e for e in root.iter() if _localname(e) == "select" and e.get("idref") not in kept]:
        _remove(select)
    exported = {e.get("value-id") for e in root.iter() if _localname(e) == "check-export"}
    for value in [e for e in test_result if _localname(e) == "set-value" and e.get("idref") not in exported]:
        test_result.remove(value)
    profile = next((e.get("idref") for e in test_result if _localname(e) == "profile"), None)
    for other in [e for e in root.iter() if _localname(e) == "Profile" and e.get("id") != profile]:
        _remove(other)
    # The OCIL questionnaires (manual checks) are a third of a data stream and no importer reads them.
    for ocil in [e for e in root.iter() if _localname(e) == "ocil"]:
        for child in [c for c in ocil if _localname(c) != "generator"]:
            ocil.remove(child)
    _drop_empty_groups(root)
    _keep_reachable_oval(root, kept)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _drop_empty_groups(root: etree._Element) -> None:
    changed = True
    while changed:
        changed = False
        for group in [e for e in root.iter() if _localname(e) == "Group"]:
            if not any(_localname(d) == "Rule" for d in group.iter()):
                _remove(group)
                changed = True


def _oval_key(element: etree._Element) -> str:
    for name in ("definition_id", "test_id", "variable_id", "id"):
        value = element.get(name)
        if value:
            return value
    return ""


def _keep_reachable_oval(root: etree._Element, rules: set[str]) -> None:
    """Drops the OVAL records (definitions, tests, objects, states, variables, items) no kept rule reaches."""
    containers = {
        "definitions", "tests", "objects", "states", "variables", "collected_objects", "system_data",
    }  # fmt: skip
    records = [
        child
        for element in root.iter()
        if _localname(element) in containers and "oval" in (etree.QName(element).namespace or "")
        for child in element
    ]
    reachable: set[str] = set()
    for element in root.iter():
        if _localname(element) == "Rule" and element.get("id") in rules:
            refs = (e for e in element.iter() if _localname(e) == "check-content-ref")
            reachable.update(e.get("name", "") for e in refs)
    while True:
        before = len(reachable)
        for record in records:
            if _oval_key(record) in reachable:
                for node in record.iter():
                    reachable.update(str(v) for v in node.attrib.values() if OVAL_ID.match(str(v)))
                    text = (node.text or "").strip() if isinstance(node.tag, str) else ""
                    if OVAL_ID.match(text):
                        reachable.add(text)
        if len(reachable) == before:
            break
    for record in records:
        if _oval_key(record) not in reachable:
            _remove(record)


@functools.cache
def scap_seeds() -> dict[str, bytes]:
    when = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    results = {
        "sshd_disable_root_login": "fail",
        "audit_rules_immutable": "pass",
        "package_telnet_removed": "notapplicable",
    }
    cces = {"sshd_disable_root_login": "CCE-80901-2", "audit_rules_immutable": "CCE-80708-1"}
    seeds = {
        name: shrink_arf(lzma.decompress((OSCAP / f"{name}.arf.xml.xz").read_bytes()))
        for name in ("debian-anssi-high", "rhel9-stig")
    }
    seeds["built-xccdf"] = xccdf_result(host="corpus-xccdf-01", results=results, when=when, cces=cces)
    seeds["built-testresult"] = xccdf_result(host="corpus-xccdf-02", results=results, when=when, bare=True)
    for path in sorted((OSCAP / "bad").glob("*.xml")):
        seeds[f"bad-{path.name}"] = path.read_bytes()
    return seeds


def _csv_rows(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@functools.cache
def securitybaseline_seeds() -> dict[str, bytes]:
    fixture = (FIXTURES / "securitybaseline" / "dc-lon-07.csv").read_bytes()
    header, *rows = _csv_rows(fixture)
    # A second computer and a Linux baseline, so the seeds hold more than one scan and both OS types.
    linux = [[*row] for row in rows[:2]]
    for row in linux:
        row[header.index("Computer")] = "web-01"
        row[header.index("BaselineType")] = "LinuxOS"
        row[header.index("OSName")] = "Debian GNU/Linux 12"
    as_objects = [dict(zip(header, row, strict=True)) for row in rows]
    tables = {"tables": [{"name": "PrimaryResult", "columns": [{"name": c} for c in header], "rows": rows}]}
    return {
        "dc-lon-07.csv": fixture,
        "shared-securitybaseline.csv": (SHARED / "defender" / "securitybaseline.csv").read_bytes(),
        "two-computers.csv": _csv_bytes([header, *rows, *linux]),
        "rows.json": json.dumps(as_objects, indent=1).encode(),
        "tables.json": json.dumps(tables).encode(),
    }


@functools.cache
def defender_seeds() -> dict[str, bytes]:
    fixture = (FIXTURES / "defender" / "arg-assessments.json").read_bytes()
    document = json.loads(fixture)
    records = document if isinstance(document, list) else document["data"]
    return {
        "arg-assessments.json": fixture,
        "shared-arg-assessments.json": (SHARED / "defender" / "arg-assessments.json").read_bytes(),
        "az-graph-query.json": json.dumps({"count": len(records), "data": records}).encode(),
        "first-five.json": json.dumps(records[:5], indent=2).encode(),
    }


@functools.cache
def inventory_seeds() -> dict[str, bytes]:
    fixture = (FIXTURES / "inventory" / "estate.csv").read_bytes()
    header, *rows = _csv_rows(fixture)
    required = [header.index(c) for c in ("resource_id", "name", "kind", "os", "subscription", "tags")]
    return {
        "estate.csv": fixture,
        "estate-without-agents.csv": _csv_bytes([[row[i] for i in required] for row in [header, *rows]]),
        "estate-crlf.csv": fixture.replace(b"\n", b"\r\n"),
    }


@functools.cache
def kubernetes_seeds() -> dict[str, bytes]:
    seeds = {
        name: (FIXTURES / "kubernetes" / name).read_bytes()
        for name in ("arc-edge.wrapped.json", "lab-kind.wrapped.json")
    }
    aks = json.loads((FIXTURES / "kubernetes" / "aks-prod.json").read_bytes())
    seeds["aks-prod.wrapped.json"] = json.dumps({"cluster": AKS, "list": aks}, indent=2).encode()
    return seeds


SEEDS = {
    "scap": scap_seeds,
    "securitybaseline": securitybaseline_seeds,
    "defender": defender_seeds,
    "inventory": inventory_seeds,
    "kubernetes": kubernetes_seeds,
}
