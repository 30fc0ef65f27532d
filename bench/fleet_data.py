"""A synthetic fleet shaped like the real scans, generated (never shipped as files).

Linux machines get bare XCCDF TestResults with the RHEL 9 STIG rule ids and CCEs of the real scan in
shared/data/oscap (its 496 evaluated rules plus 204 of its not-selected ones: 700 results a machine);
Windows machines get SecurityBaseline exports of 700 baseline rows. Results are drawn per machine from
a seeded generator with the real scan's failure rate (39 fail of 104 pass+fail), so the data has the
real file's proportions without shipping files.
"""

import csv
import io
import lzma
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

XCCDF = "http://checklists.nist.gov/xccdf/1.2"
BASE = datetime(2026, 11, 1, tzinfo=UTC)
FAIL_RATE = 0.375
RESULTS_PER_MACHINE = 700
SUBSCRIPTIONS = ["prod-eu", "prod-us", "staging", "lab", "datacenter"]
TOWERS = {"Web": ["prod-eu"], "Data": ["prod-us"], "Platform": []}  # Platform: everything else
SCALE_SET_SIZE = 10

Rule = tuple[str, str, str, str]  # rule id (or CCE), CCE, severity, result in the real scan


def real_rule_results(arf_xz: Path, count: int = RESULTS_PER_MACHINE) -> list[Rule]:
    """`count` rules of the real scan: every evaluated one, then not-selected ones evaluated here."""
    tree = etree.parse(io.BytesIO(lzma.decompress(arf_xz.read_bytes())), etree.XMLParser(huge_tree=True))
    evaluated: list[Rule] = []
    unselected: list[Rule] = []
    for rr in tree.iter(f"{{{XCCDF}}}rule-result"):
        result = rr.findtext(f"{{{XCCDF}}}result") or ""
        cce = next((i.text or "" for i in rr.iter(f"{{{XCCDF}}}ident") if "cce" in i.get("system", "")), "")
        row = (rr.get("idref", ""), cce, rr.get("severity", "unknown"), result)
        (unselected if result == "notselected" else evaluated).append(row)
    extra = [(rule_id, cce, severity, "pass") for rule_id, cce, severity, _ in unselected]
    return (evaluated + extra)[:count]


def windows_rules(count: int = RESULTS_PER_MACHINE) -> list[Rule]:
    severities = ["Critical", "Warning", "Informational"]
    return [(f"CCE-{90000 + i}-{i % 10}", "", severities[i % 3], "pass") for i in range(count)]


def draw(rules: list[Rule], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        ("fail" if rng.random() < FAIL_RATE else "pass") if result in ("pass", "fail") else result
        for _, _, _, result in rules
    ]


def machine_scan(rules: list[Rule], results: list[str], host: str, when: datetime) -> bytes:
    """A bare XCCDF TestResult for one machine, as an agent uploads it."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><TestResult xmlns="{XCCDF}" '
        f'id="xccdf_org.open-scap_testresult_stig" start-time="{when.isoformat()}" '
        f'end-time="{(when + timedelta(minutes=4)).isoformat()}"><target>{escape(host)}</target>'
        '<profile idref="xccdf_org.ssgproject.content_profile_stig"/>'
    ]
    for (rule_id, cce, severity, _), result in zip(rules, results, strict=True):
        ident = f'<ident system="https://nvd.nist.gov/cce/index.cfm">{cce}</ident>' if cce else ""
        parts.append(
            f'<rule-result idref="{rule_id}" severity="{severity}">'
            f"<result>{result}</result>{ident}</rule-result>"
        )
    parts.append("</TestResult>")
    return "".join(parts).encode()


def windows_baseline(rules: list[Rule], results: list[str], host: str, when: datetime) -> bytes:
    """A Log Analytics export of one machine's SecurityBaseline rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["TimeGenerated [UTC]", "Computer", "OSName", "BaselineType", "BaselineRuleType", "CceId",
         "Description", "RuleSeverity", "ExpectedResult", "ActualResult", "AnalyzeResult"]
    )  # fmt: skip
    moment = when.strftime("%m/%d/%Y, %I:%M:%S.000 %p")
    for (cce, _, severity, _), result in zip(rules, results, strict=True):
        failed = result == "fail"
        writer.writerow(
            [moment, host, "Windows Server 2022 Datacenter", "WindowsOS", "Registry Key", cce,
             f"Baseline setting {cce}", severity, "1", "0" if failed else "1",
             "Failed" if failed else "Passed"]
        )  # fmt: skip
    return out.getvalue().encode()


@dataclass(frozen=True)
class Machine:
    index: int
    name: str
    kind: str
    os: str
    subscription: str
    parent: str

    @property
    def resource_id(self) -> str:
        return f"fleet:{self.name}"


def fleet(machines: int) -> Iterator[Machine]:
    """Every tenth machine an instance of a scale set of ten, every fifth other one an Arc machine; one
    in seven runs Windows."""
    for i in range(machines):
        if i % 10 == 9:
            scale_set = i // 100
            kind, subscription, parent = (
                "vmss_instance",
                SUBSCRIPTIONS[scale_set % 5],
                f"fleet:ss{scale_set:03d}",
            )
        else:
            kind = "arc_machine" if i % 5 == 4 else "vm"
            subscription, parent = SUBSCRIPTIONS[i % 5], ""
        yield Machine(i, f"m{i:05d}", kind, "windows" if i % 7 == 3 else "linux", subscription, parent)


def inventory_csv(machines: list[Machine], clusters: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["resource_id", "name", "kind", "os", "subscription", "resource_group", "parent_id", "tags", "agent"]
    )
    for scale_set in sorted({m.parent for m in machines if m.parent}):
        number = int(scale_set.removeprefix("fleet:ss"))
        writer.writerow(
            [scale_set, scale_set[6:], "vmss", "linux", SUBSCRIPTIONS[number % 5], "rg-sets", "", "", ""]
        )
    for m in machines:
        writer.writerow(
            [m.resource_id, m.name, m.kind, m.os, m.subscription, f"rg-{m.index % 20:02d}", m.parent,
             f"owner=team{m.index % 3}", "installed" if m.index % 17 else "not_installed"]
        )  # fmt: skip
    for c in range(clusters):
        writer.writerow(
            [
                f"fleet:k8s{c:02d}",
                f"k8s{c:02d}",
                "k8s_cluster",
                "",
                SUBSCRIPTIONS[c % 5],
                "rg-k8s",
                "",
                "",
                "",
            ]
        )
    return out.getvalue().encode()
