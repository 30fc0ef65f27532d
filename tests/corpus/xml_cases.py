"""Structural mutations of SCAP XML: missing and duplicated elements, bad values, huge and deep trees, DTDs.

`xml_cases(seed)` returns named variants of one seed; names are "<family>:<detail>".
"""

import copy
import re
from collections.abc import Callable

from lxml import etree

Edit = Callable[[etree._Element], None]

DELETED_ELEMENTS = (
    "TestResult", "rule-result", "result", "target", "target-address", "target-facts", "Benchmark",
    "Rule", "Group", "Profile", "profile", "ident", "computing-device", "fqdn", "hostname", "title",
    "version", "data-stream-collection", "reports", "report", "check", "check-content-ref",
    "oval_results", "system_data", "definition", "test", "Value", "set-value", "assets",
)  # fmt: skip
DELETED_ATTRIBUTES = (
    ("TestResult", "start-time"), ("TestResult", "end-time"), ("rule-result", "idref"),
    ("Rule", "id"), ("Benchmark", "id"), ("rule-result", "severity"), ("profile", "idref"),
    ("definition", "definition_id"), ("test", "test_id"), ("tested_item", "item_id"),
)  # fmt: skip
BAD_TIMES = (
    "yesterday", "2026-11-28T18:44:29", "9999-99-99T00:00:00Z", " ", "2026-02-30T00:00:00Z",
    "1e10", "\uff12\uff10\uff12\uff16-11-28T00:00:00+00:00", "2026-11-28T18:44:29+25:00",
    "0000-01-01T00:00:00Z", "2026-11-28T18:44:29Z\n", "-2026-11-28T00:00:00Z",
)  # fmt: skip
UNKNOWN_RESULTS = (
    "passed", "FAIL", " fail ", "", "maybe", "pass; DROP TABLE scans", "náo", "notapplicable2",
    "x" * 10_000, "fail\x7f", "Pass", "0", "null",
)  # fmt: skip
INVALID_CCES = (
    "CCE-1-1", "CCE-12345-67", "", "CCE-\uff18\uff10\uff19\uff10\uff11-2", "cce-80901-2", " CCE-80901-2 ",
    "C" * 5000, "CCE-80901-2\nCCE-80902-1", "CCE-123456-7", "CCE-80901-X", "CCE--", "<CCE>",
)  # fmt: skip
SEVERITIES = ("", "HIGH", "critical", "x" * 5000, "médium")
# Values just over what the database columns hold, and far over what libxml2 allows by default.
LONG_VALUES = {"301": "h" * 301, "1001": "h" * 1001, "100k": "h" * 100_000}
HUGE = 11 * 1000 * 1000
XCCDF12 = b"http://checklists.nist.gov/xccdf/1.2"


def _named(root: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == name]


def _edit(seed_root: etree._Element, edit: Edit) -> bytes:
    root = copy.deepcopy(seed_root)
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _delete_all(name: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in _named(root, name):
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)

    return edit


def _delete_attribute(name: str, attribute: str) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in _named(root, name):
            if attribute in element.attrib:
                del element.attrib[attribute]

    return edit


def _set_attribute(name: str, attribute: str, value: str, first_only: bool = False) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in _named(root, name)[: 1 if first_only else None]:
            element.set(attribute, value)

    return edit


def _set_text(name: str, value: str, first_only: bool = True) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in _named(root, name)[: 1 if first_only else None]:
            element.text = value

    return edit


def _duplicate(name: str, every: bool = False, result: str | None = None) -> Edit:
    def edit(root: etree._Element) -> None:
        for element in _named(root, name)[: None if every else 1]:
            if element.getparent() is None:
                continue  # the root: a second one is swapped-root:twice
            twin = copy.deepcopy(element)
            if result is not None:
                for text in _named(twin, "result"):
                    text.text = result
            element.addnext(twin)

    return edit


def _text_edits(seed: bytes) -> dict[str, bytes]:
    """Mutations made on the text: declarations, DTDs, entities, namespaces, nesting."""
    declaration = re.match(rb"<\?xml[^>]*\?>", seed)
    prolog = declaration.group(0) if declaration else b""
    body = seed[len(prolog) :]
    laughs = b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10 if i else b"lol") for i in range(10)
    )
    dtds = {
        "billion-laughs": b"<!DOCTYPE r [" + laughs + b"]>",
        "external-entity-file": b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        "external-entity-http": b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>',
        "parameter-entity": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>',
        "external-dtd": b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">',
        "public-dtd": b'<!DOCTYPE r PUBLIC "-//X//Y" "file:///etc/passwd">',
        "empty-doctype": b"<!DOCTYPE r>",
        "quadratic-blowup": b'<!DOCTYPE r [<!ENTITY a "' + b"x" * 50_000 + b'">]>',
    }
    cases = {f"dtd:{name}": prolog + dtd + body for name, dtd in dtds.items()}
    first_close = body.find(b">")
    root_open, rest = body[: first_close + 1], body[first_close + 1 :]
    references = {
        "undeclared-entity": b"&xxe;",
        "nul-char-ref": b"&#0;",
        "surrogate-char-ref": b"&#xD800;",
        "out-of-range-char-ref": b"&#x110000;",
        "xinclude": b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>',
        "cdata-end-in-text": b"]]>",
        "stylesheet-pi": b'<?xml-stylesheet href="http://127.0.0.1:9/x.xsl"?>',
        "raw-nul": b"\x00",
        "raw-control": b"\x01\x1b",
        "comment-double-dash": b"<!-- a -- b -->",
        "second-declaration": b'<?xml version="1.0"?>',
        "unclosed-comment": b"<!-- ",
        "doctype-inside": b'<!DOCTYPE r [<!ENTITY x "y">]>',
    }
    for name, fragment in references.items():
        cases[f"entity:{name}"] = prolog + root_open + fragment + rest
    for name, replacement in {
        "utf-16-declared": b'<?xml version="1.0" encoding="UTF-16"?>',
        "latin-1-declared": b'<?xml version="1.0" encoding="ISO-8859-1"?>',
        "unknown-encoding": b'<?xml version="1.0" encoding="x-bogus"?>',
        "ebcdic-declared": b'<?xml version="1.0" encoding="EBCDIC-US"?>',
        "version-2": b'<?xml version="2.0"?>',
        "no-declaration": b"",
        "space-before-declaration": b"   " + (prolog or b'<?xml version="1.0"?>'),
    }.items():
        cases[f"encoding:{name}"] = replacement + body
    for name, namespace in {
        "xccdf-1.1": b"http://checklists.nist.gov/xccdf/1.1",
        "unknown": b"http://example.invalid/xccdf",
        "empty": b"",
    }.items():
        if XCCDF12 in seed:
            cases[f"namespace:{name}"] = seed.replace(XCCDF12, namespace)
    closing = body.rfind(b"</")
    for depth in (100, 257, 5_000, 100_000):
        nest = b"<n>" * depth + b"</n>" * depth
        cases[f"deep-nesting:{depth}"] = prolog + body[:closing] + nest + body[closing:]
    cases["deep-nesting:unclosed-100000"] = prolog + body[:closing] + b"<n>" * 100_000
    cases["swapped-root:twice"] = seed + body
    cases["swapped-root:wrapped"] = prolog + b"<wrapper>" + body + b"</wrapper>"
    cases["huge-attributes:many"] = (
        prolog + root_open[:-1] + b"".join(b' a%d="x"' % i for i in range(20_000)) + b">" + rest
    )
    return cases


def xml_cases(seed: bytes) -> dict[str, bytes]:
    """Every structural variant of a seed that parses; a seed that does not parse gets the text edits only."""
    try:
        root = etree.fromstring(seed, etree.XMLParser(huge_tree=True, resolve_entities=False))
    except etree.XMLSyntaxError:
        return {}
    edits: dict[str, Edit] = {}
    present = {etree.QName(e).localname for e in root.iter() if isinstance(e.tag, str)}
    for name in DELETED_ELEMENTS:
        if name in present:
            edits[f"deleted-element:{name}"] = _delete_all(name)
    for name, attribute in DELETED_ATTRIBUTES:
        if name in present:
            edits[f"deleted-attribute:{name}@{attribute}"] = _delete_attribute(name, attribute)
    for value in BAD_TIMES:
        for attribute in ("start-time", "end-time"):
            edits[f"bad-time:{attribute}={value!r}"] = _set_attribute("TestResult", attribute, value)
    for value in UNKNOWN_RESULTS:
        edits[f"unknown-result:{value[:20]!r}"] = _set_text("result", value)
        edits[f"unknown-result:all={value[:20]!r}"] = _set_text("result", value, first_only=False)
    for value in INVALID_CCES:
        edits[f"invalid-cce:rule={value[:20]!r}"] = _set_text("ident", value)
        edits[f"invalid-cce:all={value[:20]!r}"] = _set_text("ident", value, first_only=False)
    for value in SEVERITIES:
        edits[f"unknown-severity:{value[:10]!r}"] = _set_attribute("Rule", "severity", value)
    for result in ("pass", "fail", "error", None):
        edits[f"duplicate-results:first-as-{result}"] = _duplicate("rule-result", result=result)
    edits["duplicate-results:every"] = _duplicate("rule-result", every=True)
    for name in ("TestResult", "Rule", "Benchmark", "computing-device", "target", "profile", "Group"):
        if name in present:
            edits[f"duplicate-element:{name}"] = _duplicate(name)
    for size, value in LONG_VALUES.items():
        edits[f"huge-attributes:rule-id-{size}"] = _set_attribute("Rule", "id", value, first_only=True)
        edits[f"huge-attributes:result-idref-{size}"] = _set_attribute("rule-result", "idref", value, True)
        edits[f"huge-attributes:benchmark-id-{size}"] = _set_attribute("Benchmark", "id", value)
        edits[f"huge-attributes:profile-{size}"] = _set_attribute("profile", "idref", value)
        edits[f"huge-attributes:profile-id-{size}"] = _set_attribute("Profile", "id", value)
        for name in ("target", "fqdn", "hostname", "title", "version", "target-address", "description"):
            edits[f"huge-fields:{name}-{size}"] = _set_text(name, value)
    edits["huge-attributes:over-libxml2-limit"] = _set_attribute("TestResult", "id", "x" * HUGE)
    edits["huge-fields:over-libxml2-limit"] = _set_text("target", "x" * HUGE)
    for name in ("TestResult", "asset-report-collection", "data-stream-collection", "oval_results"):
        if name in present:
            edits[f"swapped-root:only-{name}"] = _only(name)
    for new_root in ("html", "Benchmark", "TestResult", "Rule", "svg"):
        edits[f"swapped-root:renamed-{new_root}"] = _rename_root(new_root)
    cases = {name: _edit(root, edit) for name, edit in edits.items()}
    return {**cases, **_text_edits(seed)}


def _only(name: str) -> Edit:
    """The document reduced to one of its parts (a TestResult alone, a data stream without results)."""

    def edit(root: etree._Element) -> None:
        part = copy.deepcopy(_named(root, name)[0])
        root.clear()
        root.tag = part.tag
        root.attrib.update(part.attrib)
        root.text = part.text
        root.extend(part)

    return edit


def _rename_root(name: str) -> Edit:
    def edit(root: etree._Element) -> None:
        namespace = etree.QName(root).namespace
        root.tag = etree.QName(namespace, name).text if namespace else name

    return edit
