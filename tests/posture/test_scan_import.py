"""OpenSCAP results (ARF and XCCDF) through `ingest`: counts checked against an independent XPath count."""

import io
import lzma
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.management import call_command
from django.db.models import QuerySet
from lxml import etree

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from posture.models import Resource
from recommendations.catalog.baselines import PUBLISHED_BENCHMARK_IDS
from recommendations.models import Assessment, Finding, Rule, Scan
from tests.db_state import database_state
from tests.factories import make_resource
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db


def scanned_rules() -> QuerySet[Rule]:
    """The catalog's rules but the published baselines' (loaded with the catalog)."""
    return Rule.objects.exclude(benchmark__benchmark_id__in=PUBLISHED_BENCHMARK_IDS)


ROOT = Path(__file__).resolve().parent.parent.parent
OSCAP = ROOT.parent / "shared" / "data" / "oscap"
REAL_FILES = ["rhel9-stig.arf.xml.xz", "debian-anssi-high.arf.xml.xz"]
NS = {"x": "http://checklists.nist.gov/xccdf/1.2"}


def xpath(node: Any, expression: str) -> list[Any]:
    return cast(list[Any], node.xpath(expression, namespaces=NS))


def xpath_counts(path: Path) -> tuple[dict[str, int], int]:
    """Counts by result, and results (not notselected) whose rule has a CCE: plain XPath, no Posture code."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.parse(io.BytesIO(lzma.decompress(path.read_bytes())), parser)
    counts: dict[str, int] = {}
    for value in xpath(tree, "//x:TestResult/x:rule-result/x:result/text()"):
        counts[str(value)] = counts.get(str(value), 0) + 1
    cce_rules = {str(v) for v in xpath(tree, "//x:Rule[x:ident[contains(@system, 'cce')]]/@id")}
    with_cce = sum(
        1
        for result in xpath(tree, "//x:TestResult/x:rule-result[x:result != 'notselected']")
        if result.get("idref") in cce_rules or xpath(result, "x:ident[contains(@system, 'cce')]")
    )
    return counts, with_cce


@pytest.mark.parametrize("name", REAL_FILES)
def test_real_file_counts_equal_an_independent_xpath_count(name):
    path = OSCAP / name
    expected_results, expected_cce = xpath_counts(path)
    result = ingest_file(path)
    assert result.status == "imported", result.error
    assert result.format == "arf"
    assert result.counts["results"] == expected_results
    assert result.counts["rules_with_cce"] == expected_cce
    scan = Scan.objects.get()
    assert scan.result_counts == expected_results
    assert Finding.objects.filter(state="open").count() == expected_results.get("fail", 0)
    assert result.counts["findings_opened"] == expected_results.get("fail", 0)


def test_rhel9_scan_details_and_evidence():
    result = ingest_file(OSCAP / "rhel9-stig.arf.xml.xz")
    assert result.counts["results"]["fail"] == 39
    assert result.counts["rules_with_cce"] == 496
    scan = Scan.objects.get()
    assert scan.profile_id == "xccdf_org.ssgproject.content_profile_stig"
    assert scan.profile_title.startswith("[DRAFT] DISA STIG for Red Hat Enterprise Linux 9")
    assert scan.target_hostname == "vm"
    assert "192.0.2.2" in scan.target_addresses
    assert scan.scanned_at.isoformat() == "2026-11-28T18:48:57+00:00"
    assert scanned_rules().count() == 1348
    crypto = Rule.objects.get(key="CCE-83450-7")
    assert crypto.rule_id == "xccdf_org.ssgproject.content_rule_configure_crypto_policy"
    assert crypto.severity == "high"
    assert crypto.rule_type == "Cryptography"
    assert crypto.fix_bash
    assert crypto.fix_ansible
    assert any(ref["source"] == "NIST SP 800-53" for ref in crypto.references)
    finding = Finding.objects.get(rule=crypto)
    assert finding.state == "open"
    assert finding.expected == "The system-provided crypto policies: FIPS"
    assert finding.actual.startswith("not found in /etc/crypto-policies/config; ")
    shadow = Finding.objects.get(rule__rule_id__endswith="_rule_file_permissions_etc_shadow")
    assert shadow.expected == "/etc/shadow: mode 0000 or stricter"
    assert shadow.actual == "/etc/shadow: mode 0640, owner root, group gid 42"


def test_machine_nobody_listed_is_discovered_not_dropped():
    ingest_file(OSCAP / "debian-anssi-high.arf.xml.xz")
    machine = Resource.objects.get()
    assert (machine.name, machine.kind, machine.os) == ("vm", "arc_machine", "linux")
    assert machine.subscription.name == "Discovered"
    assert machine.discovered_from == "OpenSCAP scan"
    assessment = Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns")
    assert assessment.status == "unhealthy"
    assert assessment.reason == "2 failed OS configuration rules (2 of unknown severity)"


def test_scan_matches_a_listed_machine_by_host_name_or_fqdn():
    listed = make_resource(name="web-07.example.com")
    document = xccdf_result(
        host="web-07",
        fqdn="web-07.example.com",
        results={"a": "pass"},
        when=datetime(2026, 11, 1, tzinfo=UTC),
    )
    ingest_stream(io.BytesIO(document), file_format="scap")
    assert Scan.objects.get().resource == listed
    assert Resource.objects.count() == 1


def test_resource_option_wins_and_unknown_resource_is_rejected():
    target = make_resource(name="something-else")
    document = xccdf_result(host="vm", results={"a": "fail"}, when=datetime(2026, 11, 1, tzinfo=UTC))
    ingest_stream(io.BytesIO(document), file_format="scap", resource_hint=target.resource_id)
    assert Scan.objects.get().resource == target
    with pytest.raises(RejectedFile, match="--resource 'nope' is not a known resource"):
        ingest_stream(io.BytesIO(document + b" "), file_format="scap", resource_hint="nope")


def test_importing_the_same_file_twice_leaves_the_same_state():
    path = OSCAP / "debian-anssi-high.arf.xml.xz"
    ingest_file(path)
    before = database_state()
    again = ingest_file(path)
    assert again.status == "imported"
    assert again.counts["already_imported"] is True
    assert again.counts["findings_opened"] == 0
    assert database_state() == before


T1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 8, 8, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)


def scan(when: datetime, **results: str) -> bytes:
    return xccdf_result(
        host="db-01", results=results, when=when, cces={"a": "CCE-80001-1"}, severities={"a": "high"}
    )


def ingest(document: bytes) -> dict:
    return ingest_stream(io.BytesIO(document), file_format="scap")


def findings_state() -> list[tuple]:
    return sorted(
        Finding.objects.values_list("rule__key", "state", "result", "first_seen", "last_seen", "resolved_at")
    )


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["in order", "older scan late"])
def test_two_scans_of_one_machine_in_either_order_leave_the_same_state(order):
    scans = [scan(T1, a="fail", b="fail", c="pass"), scan(T2, a="pass", b="fail", c="fail")]
    for index in order:
        ingest(scans[index])
    state = findings_state()
    a, b, c = (next(s for s in state if s[0] == key) for key in ("CCE-80001-1", rule_key("b"), rule_key("c")))
    assert a[1:] == ("resolved", "pass", T1, T2, T2)
    assert b[1:] == ("open", "fail", T1, T2, None)
    assert c[1:] == ("open", "fail", T2, T2, None)


def rule_key(name: str) -> str:
    return f"xccdf_org.example.content_rule_{name}"


def test_newer_scan_resolves_and_reopens_with_counts():
    first = ingest(scan(T1, a="fail", b="pass"))
    assert (first["findings_opened"], first["findings_resolved"], first["findings_reopened"]) == (1, 0, 0)
    second = ingest(scan(T2, a="pass", b="pass"))
    assert (second["findings_opened"], second["findings_resolved"], second["findings_reopened"]) == (0, 1, 0)
    machine = Resource.objects.get()
    assert (
        Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns").status
        == "healthy"
    )
    third = ingest(scan(T3, a="fail", b="error"))
    assert (third["findings_opened"], third["findings_resolved"], third["findings_reopened"]) == (0, 0, 1)
    states = dict(Finding.objects.values_list("rule__key", "state"))
    assert states == {"CCE-80001-1": "open", rule_key("b"): "not_evaluated"}
    assessment = Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns")
    assert (assessment.status, assessment.reason) == (
        "unhealthy",
        "1 failed OS configuration rule (1 high)",
    )


def test_findings_outlive_deleted_scans_and_the_next_scan_moves_them_on():
    ingest(scan(T1, a="fail", b="pass"))
    Scan.objects.all().delete()
    again = ingest(scan(T2, a="pass", b="fail"))
    assert (again["findings_opened"], again["findings_resolved"]) == (1, 1)
    state = {row[0]: row[1:] for row in findings_state()}
    assert state["CCE-80001-1"] == ("resolved", "pass", T1, T2, T2)
    assert state[rule_key("b")] == ("open", "fail", T2, T2, None)
    assert Finding.objects.count() == 2


def test_not_evaluated_and_not_applicable_results_are_not_findings():
    ingest(scan(T1, a="error", b="unknown", c="notapplicable", d="notchecked", e="notselected"))
    states = dict(Finding.objects.values_list("rule__key", "state"))
    assert states["CCE-80001-1"] == "not_evaluated"
    assert states[rule_key("b")] == "not_evaluated"
    assert states[rule_key("c")] == "not_applicable"
    assert rule_key("e") not in states
    assert not Finding.objects.filter(state="open").exists()


BAD = OSCAP / "bad"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.xml", "the file is empty"),
        ("entity-expansion.xccdf.xml", "declares a DTD"),
        ("external-dtd.xccdf.xml", "declares a DTD"),
        ("external-entity.xccdf.xml", "declares a DTD"),
        ("not-xml.arf.xml", "unrecognised format"),
        ("truncated.arf.xml.xz", "malformed or truncated XML at line"),
        ("wrong-root.xml", "not an OpenSCAP file: the root element is <html>"),
    ],
)
def test_hostile_and_broken_files_are_rejected_and_store_nothing(name, message):
    before = database_state()
    result = ingest_file(BAD / name)
    assert result.status == "rejected"
    assert result.error is not None
    assert message in result.error
    assert "\n" not in result.error
    assert database_state() == before


def test_binary_garbage_forced_as_scap_is_rejected_as_not_xml():
    result = ingest_file(BAD / "not-xml.arf.xml", file_format="scap")
    assert (result.status, result.error) == (
        "rejected",
        "not XML: the file does not start with an XML element",
    )


def test_a_benchmark_without_results_is_pointed_to_load_benchmark(tmp_path):
    document = xccdf_result(host="x", results={"a": "pass"}, when=T1)
    benchmark_only = document.split(b"<TestResult")[0] + b"</Benchmark>"
    path = tmp_path / "benchmark.xml"
    path.write_bytes(benchmark_only)
    result = ingest_file(path)
    assert result.status == "rejected"
    assert "load_benchmark" in (result.error or "")


def test_bare_test_result_keeps_the_catalog_rules_it_refers_to():
    call_command("load_benchmark", str(OSCAP / "rhel9-stig.arf.xml.xz"), stdout=io.StringIO())
    document = xccdf_result(
        host="rhel-01",
        results={"configure_crypto_policy": "fail", "brand_new_rule": "fail"},
        when=T1,
        cces={"configure_crypto_policy": "CCE-83450-7"},
        bare=True,
        rule_prefix="xccdf_org.ssgproject.content_rule_",
    )
    counts = ingest(document)
    assert counts["format"] == "xccdf"
    assert counts["rules_created"] == 1
    crypto = Rule.objects.get(key="CCE-83450-7")
    assert crypto.title == "Configure System Cryptography Policy"
    assert crypto.fix_bash
    new = Rule.objects.get(key="xccdf_org.ssgproject.content_rule_brand_new_rule")
    assert (new.title, new.rule_type) == ("brand new rule", "Other")
    assert Finding.objects.filter(state="open").count() == 2


def test_a_second_machine_scanned_with_known_content_reuses_the_catalog():
    first = ingest(
        xccdf_result(host="a-01", results={"a": "fail", "b": "pass"}, when=T1, cces={"a": "CCE-80001-1"})
    )
    assert first["rules_created"] == 2
    rules_before = list(Rule.objects.order_by("key").values())
    second = ingest(
        xccdf_result(host="a-02", results={"a": "pass", "b": "fail"}, when=T1, cces={"a": "CCE-80001-1"})
    )
    assert (second["rules_created"], second["rules_updated"]) == (0, 0)
    assert list(Rule.objects.order_by("key").values()) == rules_before
    states = set(Finding.objects.values_list("resource__name", "rule__key", "state"))
    assert states == {
        ("a-01", "CCE-80001-1", "open"),
        ("a-01", rule_key("b"), "passed"),
        ("a-02", "CCE-80001-1", "passed"),
        ("a-02", rule_key("b"), "open"),
    }
