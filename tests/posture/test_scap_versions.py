"""OpenSCAP of every version in use, and DISA's SCAP Compliance Checker, from genuine result files.

Where each file came from (repository, path, commit, licence) is in tests/fixtures/oscap/README.md:
- rhel7-stig.oscap-1.2.17.xccdf.xml.xz: mitre/heimdall2 `xccdf-results-openscap-rhel7.xml` (oscap 1.2.17,
  XCCDF 1.2, RHEL 7's scanner), times without a UTC offset;
- rhel7-rht-ccp.oscap-1.2.4.arf.xml.xz: theforeman/smart_proxy_openscap `test/data/arf_report` (oscap
  1.2.4 ARF), times without a UTC offset;
- rhel7-stig.scc-5.4.xccdf.xml.xz: mitre/heimdall2 `xccdf-results-scc-rhel7.xml` (SCC 5.4);
- xccdf-1.1.oscap-1.3.2.xml: OpenSCAP/openscap `tests/bindings/python/samples/xccdf_sample_results.xml`
  (XCCDF 1.1 results);
- ../shared/data/oscap/rhel9-stig.arf.xml.xz: oscap 1.3.7 ARF, times with an offset.
Counts are checked against a plain XPath count of the same file, not against Posture's reader.
"""

import io
import lzma
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from lxml import etree

from intake.pipeline import ingest_file
from recommendations.models import Finding, Scan
from tests.factories import make_resource

pytestmark = pytest.mark.django_db

TESTS = Path(__file__).resolve().parent.parent
FIXTURES = TESTS / "fixtures" / "oscap"
SHARED = TESTS.parent.parent / "shared" / "data" / "oscap"


def unpacked(path: Path) -> bytes:
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


def xpath_facts(path: Path) -> tuple[dict[str, int], int, str]:
    """Results by value, failed rules (one per CCE: rules sharing one are one finding) and the
    TestResult's end-time, read with plain XPath (any XCCDF version)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.parse(io.BytesIO(unpacked(path)), parser)
    counts: dict[str, int] = {}
    failed: set[str] = set()
    for result in cast(list[Any], tree.xpath("//*[local-name()='rule-result']")):
        value = str(result.xpath("string(*[local-name()='result'])"))
        counts[value] = counts.get(value, 0) + 1
        if value == "fail":
            idref = str(result.get("idref"))
            cce = result.xpath(
                f"string((*[local-name()='ident'] | //*[local-name()='Rule'][@id='{idref}']"
                "/*[local-name()='ident'])[starts-with(., 'CCE-')])"
            )
            failed.add(str(cce) or idref)
    end = tree.xpath("string(//*[local-name()='TestResult']/@end-time)")
    return counts, len(failed), str(end)


# file, the machine's name, whether the file's times lack an offset, the scan time Posture stores
CASES = [
    ("rhel7-stig.oscap-1.2.17.xccdf.xml.xz", None, True, datetime(2021, 12, 17, 10, 40, 58, tzinfo=UTC)),
    ("rhel7-rht-ccp.oscap-1.2.4.arf.xml.xz", "node10.local.lan", True, datetime(2015, 9, 2, 14, 24, 35, tzinfo=UTC)),  # noqa: E501
    ("rhel7-stig.scc-5.4.xccdf.xml.xz", "LOCKDOWN", True, datetime(2021, 4, 29, 14, 24, 10, tzinfo=UTC)),
    ("xccdf-1.1.oscap-1.3.2.xml", None, True, datetime(2019, 10, 18, 14, 45, 35, tzinfo=UTC)),
    ("rhel9-stig.arf.xml.xz", "vm", False, datetime(2026, 11, 28, 18, 48, 57, tzinfo=UTC)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "host", "naive", "when"), CASES)
def test_every_scanner_version_imports_with_its_counts_and_time(name, host, naive, when):
    path = FIXTURES / name if (FIXTURES / name).exists() else SHARED / name
    expected, failed, end_time = xpath_facts(path)
    # Files naming only localhost (or a made-up target) are matched with --resource, as a user would.
    resource = None if host else make_resource(name="rhel7-lab").resource_id
    result = ingest_file(path, resource=resource)
    assert result.status == "imported", result.error
    assert result.counts["results"] == expected
    assert result.counts["naive_times"] is naive
    assert result.counts["findings_opened"] == failed
    scan = Scan.objects.get()
    assert scan.scanned_at == when
    assert scan.scanned_at.replace(tzinfo=None).isoformat() == end_time[:19]
    assert Finding.objects.filter(state="open").count() == failed
    if host:
        assert scan.resource.name.lower() == host.lower()


def test_scc_fqdn_loses_the_root_dot_and_discovers_the_host_once():
    # SCC writes the fqdn fact as "LOCKDOWN." (the DNS root's dot): not a different machine's name.
    ingest_file(FIXTURES / "rhel7-stig.scc-5.4.xccdf.xml.xz")
    scan = Scan.objects.get()
    assert scan.target_fqdn == "LOCKDOWN"
    assert scan.resource.resource_id == "discovered:lockdown"
    assert "192.168.0.16" in scan.target_addresses


def test_oscap_1_2_arf_keeps_its_host_profile_and_evidence():
    ingest_file(FIXTURES / "rhel7-rht-ccp.oscap-1.2.4.arf.xml.xz")
    scan = Scan.objects.get()
    assert (scan.target_hostname, scan.target_fqdn) == ("node10", "node10.local.lan")
    assert scan.profile_id == "xccdf_org.ssgproject.content_profile_rht-ccp"
    assert scan.benchmark is not None
    assert scan.benchmark.version == "0.9"
    # The ARF's OVAL results give failed rules their evidence, as oscap 1.3's do.
    assert Finding.objects.filter(state="open").exclude(actual="").exists()
