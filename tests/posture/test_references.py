"""References are labelled by the standard they belong to, read from the real scan files' hrefs.

The two ARF reports in ../shared/data/oscap are real OpenSCAP output (SCAP Security Guide 0.1.65):
every reference they hold must come out under its own standard, and none under another's (PCI DSS's
"pcisecuritystandards.org" once came out as CIS, since it contains "cisecurity").
"""

import io
import re
from collections import Counter

import pytest

from posture.importers.references import reference_source
from posture.importers.xccdf import read_scap
from tests.posture.test_scap_reader import unpacked

# How each real file's hrefs are labelled, and what the ids under each label look like.
ID_SHAPES = {
    "PCI DSS": r"^Req-\d",
    "CIS Controls": r"^\d+(\.\d+)*$",
    "DISA CCI": r"^CCI-\d{6}$",
    "DISA SRG": r"^SRG-OS-\d{6}(-(GPOS|VMM)-\d+)?$",
    "NIST SP 800-53": r"^[A-Z]{2}-\d+",
    "NIST SP 800-171": r"^3\.\d+\.\d+$",
    "NIST CSF": r"^[A-Z]{2}\.[A-Z]{2}-\d+$",
    "ANSSI": r"^(BP28|NT\d+)\(R\d+\)$",
    "HIPAA": r"^164\.\d+",
    "NERC CIP": r"^CIP-",
    "CJIS": r"^5\.\d+",
    "ISO/IEC 27001": r"^(A\.|Clause )\d+",
    "COBIT 5": r"^[A-Z]{3}\d{2}\.\d{2}$",
    "ISA/IEC 62443-3-3": r"^SR \d+\.\d+",
    "ISA/IEC 62443-2-1": r"^4\.\d",
    "NIAP OSPP": r"^[A-Z]{3}_[A-Z0-9_]+[.(]\d",
}
# Ids SCAP Security Guide 0.1.65 itself misspells (under the right href): kept as the file says them.
SOURCE_TYPOS = {
    ("DISA SRG", "SRG-OS-000075-VMM000420"),
    ("NIST SP 800-53", "NONE"),
    ("NIST SP 800-53", "CM6(a)"),
    ("NIST SP 800-171", "80424-5"),
}


@pytest.fixture(scope="module", params=["rhel9-stig.arf.xml.xz", "debian-anssi-high.arf.xml.xz"])
def references(request) -> Counter[tuple[str, str]]:
    document = read_scap(io.BytesIO(unpacked(request.param)))
    return Counter(reference for rule in document.rules for reference in rule.references)


def test_every_reference_of_the_real_scans_sits_under_its_standard(references):
    by_source: Counter[str] = Counter()
    for (source, ref), count in references.items():
        by_source[source] += count
        if source in ID_SHAPES and (source, ref) not in SOURCE_TYPOS:
            assert re.match(ID_SHAPES[source], ref), (source, ref)
    assert by_source["PCI DSS"] > 100
    assert by_source["CIS Controls"] > 1000
    assert not {source for source in by_source if source not in ID_SHAPES} - {"Other", "CIS Benchmark"}


def test_pci_dss_is_never_labelled_cis(references):
    assert not [ref for (source, ref) in references if source.startswith("CIS") and ref.startswith("Req-")]


def test_the_labels_come_from_the_host_not_from_a_substring():
    pci = "https://www.pcisecuritystandards.org/documents/PCI_DSS_v3-2-1.pdf"
    assert reference_source(pci, "Req-2.2") == "PCI DSS"
    assert reference_source("https://benchmarks.cisecurity.org/tools2/linux/CIS_Debian.pdf", "1.1") == (
        "CIS Benchmark"
    )
    assert reference_source("https://www.isaca.org/resources/cobit", "APO01.06") == "COBIT 5"
    # A look-alike host is not the standard's.
    assert reference_source("https://cisecurity.org.example.net/x", "1") == "cisecurity.org.example.net"
    assert reference_source("https://example.org/cui-guide", "3.1.1") == "example.org"


def test_a_reference_without_href_is_named_only_by_a_certain_id_shape():
    assert reference_source("", "CCI-000366") == "DISA CCI"
    assert reference_source("", "RHEL-09-211010") == "DISA STIG"
    # SSG 0.1.65 leaves some references without href (bare numbers): nothing says whose.
    assert reference_source("", "1034") == "Other"
