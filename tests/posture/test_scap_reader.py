"""The streamed SCAP reader: the records it gives, wherever the chunks libxml2 is fed end.

The digests pin everything the reader gives from the two real files (benchmark, 1,348 and 355 rules,
every rule result with its OVAL evidence, counts), on a first read and on a read of known content. They
were computed with the reader libxml2's filtering replaced, and the new one gave the same: a change to
them must be deliberate (then print the new digests with `digest` and say why in the commit).
"""

import dataclasses
import hashlib
import io
import json
import lzma

import pytest

from posture import xml
from posture.importers.oval import DEFINITIONS_NS, RESULTS_NS, SYSTEM_NS
from posture.importers.records import ScapDocument
from posture.importers.xccdf import read_scap
from tests.scans import OSCAP

XCCDF = "http://checklists.nist.gov/xccdf/1.2"
# File -> digests of (first read, read with its benchmark known).
DIGESTS = {
    "rhel9-stig.arf.xml.xz": (
        "2ed2f69eb28b2ddf85c467a5fded1d2dc8d53a4550be2966528437b76f174017",
        "460726c22106a6806165689cf3987d36f41bc68c051e1efd511fa963b76098dc",
    ),
    "debian-anssi-high.arf.xml.xz": (
        "9343c43c5ff253e35cebc5990f8b501ae1a0a105602d6f8802bc1bd0f0977a61",
        "85d7673ce24eca795d3cfd903f21de7ddb4043f98e318110c966254b9328425f",
    ),
}


def unpacked(name: str) -> bytes:
    return lzma.decompress((OSCAP / name).read_bytes())


def digest(document: ScapDocument) -> str:
    text = json.dumps(dataclasses.asdict(document), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def both_reads(data: bytes) -> tuple[ScapDocument, ScapDocument]:
    first = read_scap(io.BytesIO(data))
    assert first.benchmark is not None
    known = frozenset({(first.benchmark.benchmark_id, first.benchmark.version)})
    return first, read_scap(io.BytesIO(data), known)


@pytest.mark.parametrize("name", DIGESTS)
def test_real_files_give_the_records_they_always_gave(name):
    first, again = both_reads(unpacked(name))
    assert len(first.rules) == len(again.rule_cces) == len(first.scans[0].results)
    assert not again.rules
    assert again.rules_skipped
    assert again.scans == first.scans
    assert (digest(first), digest(again)) == DIGESTS[name]


@pytest.mark.parametrize(
    ("name", "chunk_bytes"), [("debian-anssi-high.arf.xml.xz", 997), ("rhel9-stig.arf.xml.xz", 4099)]
)
def test_what_is_freed_between_chunks_never_changes_the_records(name, chunk_bytes, monkeypatch):
    # Small chunks end inside every kind of element: OVAL items and tests read as their parent's
    # children finish, records kept whole while open, everything else freed after each chunk.
    monkeypatch.setattr(xml, "CHUNK_BYTES", chunk_bytes)
    first, again = both_reads(unpacked(name))
    assert (digest(first), digest(again)) == DIGESTS[name]


def items_document(count: int) -> bytes:
    """XCCDF results and the OVAL results of their check: rule a's test found `count` items (each
    holding, as no real file does, an OVAL test record), rule b's found none."""
    items = "".join(
        f'<file_item xmlns="{SYSTEM_NS}#unix" id="{n}"><filepath>/etc/file-{n}</filepath>'
        f'<test xmlns="{RESULTS_NS}" test_id="oval:x:tst:{n}">inside item {n}</test></file_item>'
        for n in range(count)
    )
    tested = "".join(f'<tested_item item_id="{n}" result="false"/>' for n in range(count))
    rule_results = "".join(
        f'<rule-result idref="xccdf_x_rule_{name}"><result>fail</result>'
        f'<check><check-content-ref name="oval:x:def:{name}"/></check></rule-result>'
        for name in "ab"
    )
    definitions = "".join(
        f'<definition definition_id="oval:x:def:{name}" result="false">'
        f'<criteria><criterion test_ref="oval:x:tst:{name}" result="false"/></criteria></definition>'
        for name in "ab"
    )
    return (
        '<?xml version="1.0"?>'
        f'<Benchmark xmlns="{XCCDF}" id="xccdf_x_benchmark_b"><version>1</version>'
        '<TestResult start-time="2026-11-01T08:00:00+00:00"><target>host</target>'
        f"{rule_results}</TestResult>"
        f'<oval_results xmlns="{RESULTS_NS}"><oval_definitions xmlns="{DEFINITIONS_NS}"><tests>'
        f'<file_test xmlns="{DEFINITIONS_NS}#unix" id="oval:x:tst:b" comment="no such file">'
        f'<test xmlns="{RESULTS_NS}" test_id="oval:x:tst:b-inside"/></file_test>'
        "</tests></oval_definitions>"
        f"<results><system><definitions>{definitions}</definitions><tests>"
        f'<test test_id="oval:x:tst:a">{tested}</test><test test_id="oval:x:tst:b"/></tests>'
        f'<oval_system_characteristics xmlns="{SYSTEM_NS}"><system_data>{items}</system_data>'
        "</oval_system_characteristics></system></results></oval_results></Benchmark>"
    ).encode()


@pytest.mark.parametrize("chunk_bytes", [61, 1 << 20])
def test_oval_evidence_is_the_same_however_the_file_is_chunked(chunk_bytes, monkeypatch):
    # Events are handled once their chunk is parsed: with one chunk for the whole file, the items
    # after the one holding an event have ended too, yet must be read after it, in the file's order
    # (the record inside an item is read first, and emptied: not one of the item's fields).
    monkeypatch.setattr(xml, "CHUNK_BYTES", chunk_bytes)
    document = read_scap(io.BytesIO(items_document(8)))
    evidence = {result.rule_id: result.actual for result in document.scans[0].results}
    # Test a is not in the definitions: its items are kept whole, raw; test b is a file test.
    found = "\n".join(f"file: filepath=/etc/file-{n}" for n in range(5))
    assert evidence == {
        "xccdf_x_rule_a": f"see OVAL evidence:\n{found}\n… and 3 more items",
        "xccdf_x_rule_b": "not found: the file",
    }
