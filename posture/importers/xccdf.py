"""SCAP XML: XCCDF 1.2 benchmarks and results, ARF reports and SCAP data streams, in one streamed pass.

`oscap xccdf eval --results-arf` writes an ARF `asset-report-collection` holding the data stream (the
benchmark with every rule, its CCE, fix text and fix scripts), the asset (host name, FQDN, addresses),
the XCCDF TestResult and the OVAL results. `--results` writes a bare XCCDF Benchmark with the
TestResult inside. `load_benchmark` reads a data stream the same way.

libxml2 parses the whole file but reports only the elements read here (WATCHED_TAGS): a few percent of
a report's elements reach Python. Records (a rule, a rule result, an OVAL test...) are read whole when
they end; the children of OVAL system data (items) and of OVAL tests, objects and states are read from
their parent as they finish. Memory grows with the number of rules and results, not with the file:
what is read, and what is never looked at, is freed between chunks.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import IO

from lxml import etree

from posture.errors import RejectedFile, shown
from posture.importers.limits import check_document
from posture.importers.lookalikes import not_read_yet, xml_lookalike
from posture.importers.oval import OVAL_PART_TAGS, OVAL_RECORD_TAGS, SYSTEM_DATA_TAG, OvalCollector
from posture.importers.platforms import content_platform, target_family
from posture.importers.records import (
    BenchmarkRecord,
    RuleRecord,
    RuleResultRecord,
    ScanRecord,
    ScapDocument,
)
from posture.importers.references import reference_source
from posture.importers.rule_types import xccdf_rule_type
from posture.xml import free_read, local_name, parse_chunks, text_of

XCCDF_NS = {"http://checklists.nist.gov/xccdf/1.2", "http://checklists.nist.gov/xccdf/1.1"}
ARF_NS = "http://scap.nist.gov/schema/asset-reporting-format/1.1"
AI_NS = "http://scap.nist.gov/schema/asset-identification/1.1"
ROOTS = {"asset-report-collection", "Benchmark", "TestResult", "data-stream-collection"}
CCE_PATTERN = re.compile(r"^CCE-\d{4,5}-\d$")
SEVERITIES = {"high", "medium", "low", "info", "unknown"}
RESULTS = {
    "pass",
    "fail",
    "error",
    "unknown",
    "notapplicable",
    "notchecked",
    "notselected",
    "informational",
    "fixed",
}
FIX_SYSTEMS = {"urn:xccdf:fix:script:sh": "bash", "urn:xccdf:fix:script:ansible": "ansible"}
MAX_TEXT = 100_000
XCCDF_NAMES = (
    "Benchmark", "Group", "Rule", "Value", "Profile", "TestResult", "title", "version", "target",
    "target-address", "target-facts", "profile", "set-value", "rule-result", "benchmark", "platform",
)  # fmt: skip
XCCDF_TAGS = {f"{{{ns}}}{name}": name for ns in XCCDF_NS for name in XCCDF_NAMES}
XCCDF_RECORDS = ("Rule", "Value", "Profile", "rule-result", "target-facts")
ASSET_TAG = f"{{{AI_NS}}}computing-device"
# Elements read whole when they end, so nothing inside them may be freed before.
RECORD_TAGS = frozenset(
    {f"{{{ns}}}{name}" for ns in XCCDF_NS for name in XCCDF_RECORDS} | {ASSET_TAG} | OVAL_RECORD_TAGS
)
# The elements libxml2 reports, and any element named like a root: the root is then the first one.
WATCHED_TAGS = sorted(
    {*XCCDF_TAGS, *RECORD_TAGS, SYSTEM_DATA_TAG, *OVAL_PART_TAGS} | {f"{{*}}{name}" for name in ROOTS}
)
ASSET_FIELD_TAGS = tuple(f"{{{AI_NS}}}{name}" for name in ("fqdn", "hostname", "ip-address"))
RULE_FIELDS = ("title", "description", "rationale", "fixtext", "fix", "check")
RULE_FIELD_TAGS = {f"{{{ns}}}{name}": name for ns in XCCDF_NS for name in RULE_FIELDS}
REFERENCE_TAGS = tuple(f"{{{ns}}}reference" for ns in XCCDF_NS)


def _severity(value: str | None) -> str:
    value = (value or "unknown").strip().lower()
    return value if value in SEVERITIES else "unknown"


def _timestamp(value: str | None, what: str) -> tuple[datetime | None, bool]:
    """The time, and whether it had no UTC offset: oscap before 1.3 and DISA's SCC write local times
    without one, which are read as UTC (the import summary says so) rather than refused."""
    if not value:
        return None, False
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RejectedFile(f"{what} {shown(value)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC), True
    return moment, False


class _PendingRule:
    """A rule read from the benchmark; Values (for expected values and fix substitutions) may come later."""

    def __init__(self, element: etree._Element, group_title: str, cce: str) -> None:
        self.rule_id = element.get("id", "")
        self.cce = cce
        self.severity = _severity(element.get("severity"))
        self.group_title = group_title
        self.title = ""
        self.description = ""
        self.rationale = ""
        self.fix_text = ""
        self.fixes: dict[str, list[str | tuple[str]]] = {}
        self.references: list[tuple[str, str]] = []
        self.exports: list[str] = []
        for child in element.iterchildren(*RULE_FIELD_TAGS):
            name = RULE_FIELD_TAGS[child.tag]
            if name == "title" and not self.title:
                self.title = text_of(child)
            elif name == "description":
                self.description = text_of(child)[:MAX_TEXT]
            elif name == "rationale":
                self.rationale = text_of(child)[:MAX_TEXT]
            elif name == "fixtext":
                self.fix_text = text_of(child)[:MAX_TEXT]
            elif name == "fix":
                kind = FIX_SYSTEMS.get(child.get("system", ""))
                if kind and kind not in self.fixes:
                    self.fixes[kind] = _fix_parts(child)
            elif name == "check":
                self.exports.extend(e.get("value-id", "") for e in child.iterchildren("{*}check-export"))
        # Apart from the other fields (the order between fields does not matter): ~30 a rule.
        for reference in element.iterchildren(*REFERENCE_TAGS):
            text = text_of(reference)
            if text:
                self.references.append((reference_source(reference.get("href", ""), text), text[:200]))


def _fix_parts(element: etree._Element) -> list[str | tuple[str]]:
    """Fix script text with its <sub idref=.../> placeholders kept, to fill with the Values' defaults."""
    parts: list[str | tuple[str]] = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and local_name(child) == "sub":
            parts.append((child.get("idref", ""),))
        parts.append(child.tail or "")
    return parts


class _Value:
    def __init__(self, element: etree._Element) -> None:
        self.title = ""
        self.default = ""
        selectors: dict[str, str] = {}
        for child in element.iterchildren("{*}title", "{*}value"):
            if local_name(child) == "title":
                self.title = text_of(child)
            else:
                selector = child.get("selector")
                if selector is None:
                    self.default = (child.text or "").strip()
                else:
                    selectors[selector] = (child.text or "").strip()
        if not self.default and selectors:
            self.default = next(iter(selectors.values()))


class ScapReader:
    """Reads one SCAP XML file in a single streamed pass."""

    def __init__(self, known_benchmarks: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.document = ScapDocument()
        self._known_benchmarks = known_benchmarks
        self._rules: list[_PendingRule] = []
        self._values: dict[str, _Value] = {}
        self._profiles: dict[str, str] = {}
        self._group_titles: list[str] = []
        self._benchmark_id = ""
        self._benchmark_version = ""
        self._benchmark_title = ""
        self._platforms: list[str] = []
        self._target_os = ""
        self._asset: dict[str, str] = {}
        self._asset_addresses: list[str] = []
        self._scan: ScanRecord | None = None
        self._set_values: dict[str, str] = {}
        self._raw_results: list[tuple[str, str, str, str, list[str], list[str], str]] = []
        self._oval = OvalCollector()
        self._root: etree._Element | None = None
        # The outermost record being read (kept whole until it ends), and how many are open.
        self._record: etree._Element | None = None
        self._record_depth = 0
        # An OVAL system_data being read (its children are items, each a record) and an OVAL tests
        # (or objects, or states: what they check): both read child by child, as their children finish.
        self._items: etree._Element | None = None
        self._tests: etree._Element | None = None

    def read(self, stream: IO[bytes]) -> ScapDocument:
        for events in parse_chunks(stream, tags=WATCHED_TAGS, check_root=_check_root):
            for event, element in events:
                if self._tests is not None or self._items is not None:
                    self._read_children_before(element)
                if event == "start":
                    self._start(element)
                else:
                    self._end(element)
            self._free()
        self._finish()
        return self.document

    def _free(self) -> None:
        """Between chunks: read the containers' children that have ended (all but the last), free the rest."""
        if self._root is None:
            return
        if self._tests is not None and len(self._tests):
            self._read_definition_parts(before=self._tests[-1])
        if self._items is not None and len(self._items):
            self._read_items(before=self._items[-1])
        # An open test, object or state of a definitions' container is read whole: its children are kept.
        keep = next((e for e in (self._record, self._items, self._tests) if e is not None), None)
        free_read(self._root, keep=keep)

    def _read_children_before(self, element: etree._Element) -> None:
        """Read the containers' children that ended before `element` in the file.

        Events are handled once their whole chunk is parsed: the children after the one holding
        `element` may have ended since, but are read after it, as the file orders them.
        """
        if self._tests is not None:
            self._read_definition_parts(before=element)
        if self._items is not None:
            self._read_items(before=element)

    def _read_definition_parts(self, *, before: etree._Element) -> None:
        assert self._tests is not None
        for child in _children_before(self._tests, before):
            self._oval.definition_part(child)

    def _read_items(self, *, before: etree._Element) -> None:
        assert self._items is not None
        for child in _children_before(self._items, before):
            self._end_record(child, item=True)

    def _start(self, element: etree._Element) -> None:
        if self._root is None:
            self._root = element.getroottree().getroot()
        if self._items is not None:
            return  # inside an item, read whole when it ends
        tag = element.tag
        if tag in RECORD_TAGS:
            self._record_depth += 1
            if self._record is None:
                self._record = element
        elif self._record_depth:
            return
        elif tag == SYSTEM_DATA_TAG:
            self._items = element
        elif tag in OVAL_PART_TAGS:
            self._tests = element
        elif tag in XCCDF_TAGS:
            self._start_xccdf(element, XCCDF_TAGS[tag])

    def _end(self, element: etree._Element) -> None:
        tag = element.tag
        items = self._items
        if items is not None and element is not items:
            if element.getparent() is items:
                self._end_record(element, item=True)
                items.remove(element)
            elif tag in RECORD_TAGS:
                # A record inside an item: read, then emptied (the item is read without it).
                self._end_record(element, item=False)
                element.clear()
            return
        tests = self._tests
        if tag in RECORD_TAGS:
            self._record_depth -= 1
            self._end_record(element, item=False)
            element.clear()
            if self._record_depth:
                return
            self._record = None
        elif self._record_depth:
            return  # part of a record still being read
        elif tag in XCCDF_TAGS:
            parent = element.getparent()
            parent_name = XCCDF_TAGS.get(parent.tag, "") if parent is not None else ""
            self._end_xccdf(element, XCCDF_TAGS[tag], parent_name)
        elif tests is not None and element.getparent() is tests:
            self._oval.definition_part(element)
            if element is items:
                # A system_data as a tests' child (no OVAL schema allows it) ends as the others do:
                # the reader before this one kept reading items at its depth elsewhere afterwards.
                self._read_items(before=element)
                self._items = None
        elif element is items:
            self._read_items(before=element)
            self._items = None
        elif tag in OVAL_PART_TAGS and tests is not None:
            self._read_definition_parts(before=tests)
            self._tests = None
        if tests is not None and element.getparent() is tests:
            tests.remove(element)  # read: the children left are those still to read

    def _end_record(self, element: etree._Element, *, item: bool) -> None:
        tag = element.tag
        if tag in XCCDF_TAGS:
            self._end_xccdf(element, XCCDF_TAGS[tag], "")
        elif tag == ASSET_TAG:
            self._read_asset(element)
        else:
            self._oval.end_record(element, item=item)

    def _start_xccdf(self, element: etree._Element, name: str) -> None:
        if name == "Group":
            self._group_titles.append("")
        elif name == "Benchmark" and not self._benchmark_id:
            self._benchmark_id = element.get("id", "")
        elif name == "TestResult":
            start, naive_start = _timestamp(element.get("start-time"), "TestResult start-time")
            end, naive_end = _timestamp(element.get("end-time"), "TestResult end-time")
            moment = end or start
            if moment is None:
                raise RejectedFile("the TestResult has neither start-time nor end-time")
            if self._scan is not None:
                raise RejectedFile("the file holds more than one TestResult; import one scan per file")
            self._scan = ScanRecord(
                source_format="xccdf", scanned_at=moment, naive_times=naive_start or naive_end
            )

    def _end_xccdf(self, element: etree._Element, name: str, parent_name: str) -> None:
        if name == "Rule":
            if (self._benchmark_id, self._benchmark_version) in self._known_benchmarks:
                # A benchmark version is fixed content, already in the catalog: only the CCE is needed.
                self.document.rules_skipped = True
                self.document.rule_cces[element.get("id", "")] = self._cce_of(element)
            else:
                self._rules.append(_PendingRule(element, self._top_group_title(), self._cce_of(element)))
        elif name == "Value":
            self._values[element.get("id", "")] = _Value(element)
        elif name == "Profile":
            title = next(element.iterchildren("{*}title"), None)
            self._profiles[element.get("id", "")] = text_of(title)
        elif name == "Group":
            if self._group_titles:
                self._group_titles.pop()
        elif name == "title" and parent_name == "Group" and self._group_titles:
            self._group_titles[-1] = _own_text(element)
        elif name == "title" and parent_name == "Benchmark" and not self._benchmark_title:
            self._benchmark_title = _own_text(element)
        elif name == "platform" and parent_name == "Benchmark":
            self._platforms.append(element.get("idref", ""))
        elif name == "version" and parent_name == "Benchmark" and not self._benchmark_version:
            self._benchmark_version = _own_text(element)
        elif self._scan is not None and (
            parent_name == "TestResult" or name in ("rule-result", "target-facts")
        ):
            self._end_test_result_child(element, name)

    def _top_group_title(self) -> str:
        return next((title for title in self._group_titles if title), "")

    def _cce_of(self, element: etree._Element) -> str:
        """The element's CCE identifier; a malformed one is counted and ignored, not trusted."""
        for ident in element.iterchildren("{*}ident"):
            if "cce" not in ident.get("system", "").lower():
                continue
            value = (ident.text or "").strip()
            if CCE_PATTERN.match(value):
                return value
            if value:
                self.document.invalid_cce += 1
        return ""

    def _end_test_result_child(self, element: etree._Element, name: str) -> None:
        scan = self._scan
        assert scan is not None
        if name == "target":
            scan.hostname = scan.hostname or _own_text(element)
        elif name == "target-address":
            address = _own_text(element)
            if address and address not in scan.addresses:
                scan.addresses.append(address)
        elif name == "profile":
            scan.profile_id = element.get("idref", "")
        elif name == "set-value":
            self._set_values[element.get("idref", "")] = (element.text or "").strip()
        elif name == "rule-result":
            self._read_rule_result(element)
        elif name == "benchmark" and not self._benchmark_id:
            self._benchmark_id = element.get("id", "")
        elif name == "target-facts":
            for fact in element:
                if not isinstance(fact.tag, str):
                    continue
                fact_name = fact.get("name", "")
                value = (fact.text or "").strip()
                if fact_name.endswith(":fqdn") and not scan.fqdn:
                    scan.fqdn = value.rstrip(".")  # DISA's SCC writes the root's dot ("host.")
                elif fact_name.endswith(":host_name") and not scan.hostname:
                    scan.hostname = value
                elif fact_name.endswith(":os_name") and value:
                    self._target_os = f"{value} {self._target_os}".strip()
                elif fact_name.endswith(":os_version") and value:
                    self._target_os = f"{self._target_os} {value}".strip()

    def _read_rule_result(self, element: etree._Element) -> None:
        rule_id = element.get("idref", "")
        result = ""
        exports: list[str] = []
        definitions: list[str] = []
        message = ""
        for child in element.iterchildren("{*}result", "{*}check", "{*}message"):
            if local_name(child) == "result":
                result = (child.text or "").strip().lower()
                continue
            if local_name(child) == "message":
                # The checking engine's own words (scanners without OVAL results write them).
                message = message or _own_text(child)[:MAX_TEXT]
                continue
            for part in child.iterchildren("{*}check-export", "{*}check-content-ref"):
                if local_name(part) == "check-export":
                    exports.append(part.get("value-id", ""))
                elif part.get("name"):
                    definitions.append(part.get("name", ""))
        if not rule_id:
            raise RejectedFile("a rule-result has no idref")
        if result not in RESULTS:
            raise RejectedFile(
                f"rule-result {shown(rule_id)}: result {shown(result)} is not an XCCDF result value"
            )
        if result == "fail":
            self._oval.want(definitions)
        severity = _severity(element.get("severity"))
        self._raw_results.append(
            (rule_id, self._cce_of(element), result, severity, exports, definitions, message)
        )

    def _read_asset(self, device: etree._Element) -> None:
        for element in device.iter(*ASSET_FIELD_TAGS):
            name = local_name(element)
            if name in ("fqdn", "hostname"):
                self._asset.setdefault(name, text_of(element))
            elif name == "ip-address":
                value = text_of(element)
                if value and value not in self._asset_addresses:
                    self._asset_addresses.append(value)

    def _value_text(self, value_id: str, chosen: str | None = None) -> str:
        value = self._values.get(value_id)
        title = value.title if value and value.title else value_id.rpartition("_value_")[2] or value_id
        shown = chosen if chosen is not None else (value.default if value else "")
        return f"{title}: {shown}"

    def _finish(self) -> None:
        # The OS the content targets, from its CPE platforms only: a title says nothing reliable.
        os_name, platform = content_platform(self._platforms)
        if self._benchmark_id or self._rules:
            self.document.benchmark = BenchmarkRecord(
                benchmark_id=self._benchmark_id,
                version=self._benchmark_version,
                title=self._benchmark_title,
                os=os_name,
                platform=platform,
            )
        for pending in self._rules:
            self.document.rules.append(
                RuleRecord(
                    rule_id=pending.rule_id,
                    cce=pending.cce,
                    title=pending.title or pending.rule_id,
                    description=pending.description,
                    rationale=pending.rationale,
                    severity=pending.severity,
                    rule_type=xccdf_rule_type(pending.rule_id, pending.group_title),
                    os=os_name,
                    expected="; ".join(self._value_text(v) for v in pending.exports if v),
                    references=tuple(pending.references),
                    fix_text=pending.fix_text,
                    fix_bash=self._render_fix(pending.fixes.get("bash")),
                    fix_ansible=self._render_fix(pending.fixes.get("ansible")),
                )
            )
        if self._scan is not None:
            self._complete_scan(self._scan, os_name, platform)
            self.document.scans.append(self._scan)

    def _render_fix(self, parts: list[str | tuple[str]] | None) -> str:
        if not parts:
            return ""
        rendered = "".join(
            part
            if isinstance(part, str)
            else (self._values[part[0]].default if part[0] in self._values else "")
            for part in parts
        )
        return rendered.strip("\n")[:MAX_TEXT]

    def _complete_scan(self, scan: ScanRecord, os_name: str, platform: str) -> None:
        if self._asset or self._asset_addresses:
            scan.source_format = "arf"
            scan.fqdn = self._asset.get("fqdn") or scan.fqdn
            scan.hostname = self._asset.get("hostname") or scan.hostname
            for address in self._asset_addresses:
                if address not in scan.addresses:
                    scan.addresses.append(address)
        # What the target said of itself (SCC's facts) wins; else what its content was made for.
        scan.os = target_family(self._target_os) or os_name
        scan.os_name = self._target_os or platform or self._benchmark_title
        scan.profile_title = self._profiles.get(scan.profile_id, "")
        for rule_id, cce, result, severity, exports, definitions, message in self._raw_results:
            expected = "; ".join(self._value_text(v, self._set_values.get(v)) for v in exports if v)
            actual = ""
            if result == "fail":
                oval_expected, actual = self._oval.evidence(definitions)
                expected = expected or oval_expected
                actual = actual or message
            scan.results.append(
                RuleResultRecord(
                    rule_id=rule_id,
                    cce=cce,
                    result=result,
                    severity=severity,
                    expected=expected,
                    actual=actual,
                )
            )


def _check_root(element: etree._Element) -> None:
    name = local_name(element)
    if name not in ROOTS and (lookalike := xml_lookalike(name)):
        raise not_read_yet(lookalike)
    if name not in ROOTS:
        raise RejectedFile(
            f"not an OpenSCAP file: the root element is <{name}>; expected an ARF report "
            "(asset-report-collection), XCCDF results (Benchmark or TestResult) or a SCAP data stream"
        )


def _own_text(element: etree._Element) -> str:
    """The text of a title, version or target read outside any record: its own, not its children's.

    The reader before this one had emptied such an element's children (and the text after them) by
    the time it ended; kept so, so that a file gives the records it always gave.
    """
    return " ".join((element.text or "").split())


def _children_before(container: etree._Element, element: etree._Element) -> Iterator[etree._Element]:
    """The children of `container` before the one that is or holds `element`, oldest first, each
    deleted once read; all of them when `element` is the container (ended: so have its children)."""
    if element is container:
        count = len(container)
    else:
        holder = element
        while (parent := holder.getparent()) is not container:
            if parent is None:
                return  # not inside: nothing known to have ended
            holder = parent
        count = container.index(holder)
    if not count:
        return
    # Taken out in one slice (libxml2 unlinks them in C); an element out of its tree reads the same.
    children = list(islice(container, count))
    del container[:count]
    yield from children


def read_scap(stream: IO[bytes], known_benchmarks: frozenset[tuple[str, str]] = frozenset()) -> ScapDocument:
    """Read a SCAP file; rules of the benchmarks in known_benchmarks (id, version) are not read again."""
    document = ScapReader(known_benchmarks).read(stream)
    check_document(document)
    return document


def iter_results(document: ScapDocument) -> Iterator[RuleResultRecord]:
    for scan in document.scans:
        yield from scan.results
