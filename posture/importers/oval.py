"""Evidence for failed rules from the OVAL results of an ARF report: what was expected, what was found.

A failed XCCDF rule points to an OVAL definition; its false criteria name tests; each test names the
items it collected on the machine (a sysctl value, a line of a file, a package) and the variable
values it compared them with. The OVAL results come after the XCCDF TestResult in the file, so the
definitions wanted are known before they stream past, and only their items are kept.
"""

from lxml import etree

from posture.xml import local_name

RESULTS_NS = "http://oval.mitre.org/XMLSchema/oval-results-5"
DEFINITIONS_NS = "http://oval.mitre.org/XMLSchema/oval-definitions-5"
SYSTEM_NS = "http://oval.mitre.org/XMLSchema/oval-system-characteristics-5"
DEFINITION_TAG = f"{{{RESULTS_NS}}}definition"
TEST_TAG = f"{{{RESULTS_NS}}}test"
OVAL_RECORD_TAGS = frozenset({DEFINITION_TAG, TEST_TAG})
SYSTEM_DATA_TAG = f"{{{SYSTEM_NS}}}system_data"
OVAL_TESTS_TAG = f"{{{DEFINITIONS_NS}}}tests"
MAX_EVIDENCE = 2000
MAX_ITEMS = 5


class OvalCollector:
    def __init__(self) -> None:
        self._wanted: set[str] = set()
        self._test_comments: dict[str, str] = {}
        # definition id -> (false test ids, extended definition ids)
        self._definitions: dict[str, tuple[list[str], list[str]]] = {}
        # test id -> (item ids, variable values)
        self._tests: dict[str, tuple[list[str], list[str]]] = {}
        self._items: dict[str, str] = {}
        self._wanted_items: set[str] | None = None

    def want(self, definition_ids: list[str]) -> None:
        self._wanted.update(definition_ids)

    def end_record(self, element: etree._Element, *, item: bool) -> None:
        if item:
            self._read_item(element)
        elif element.tag == DEFINITION_TAG:
            self._read_definition(element)
        elif element.tag == TEST_TAG:
            self._read_test(element)

    def test_comment(self, element: etree._Element) -> None:
        """A test of the OVAL definitions part: only its comment is kept, to explain 'nothing found'."""
        comment = element.get("comment")
        if comment:
            self._test_comments[element.get("id", "")] = comment

    def _read_definition(self, element: etree._Element) -> None:
        definition_id = element.get("definition_id", "")
        if not definition_id:
            return
        tests: list[str] = []
        extended: list[str] = []
        for node in element.iter("{*}criterion", "{*}extend_definition"):
            if node.get("result") != "false":
                continue
            if local_name(node) == "criterion":
                tests.append(node.get("test_ref", ""))
            else:
                extended.append(node.get("definition_ref", ""))
        self._definitions[definition_id] = (tests, extended)

    def _read_test(self, element: etree._Element) -> None:
        items: list[str] = []
        variables: list[str] = []
        for child in element.iterchildren("{*}tested_item", "{*}tested_variable"):
            if local_name(child) == "tested_item":
                items.append(child.get("item_id", ""))
            elif child.text:
                variables.append(child.text.strip())
        self._tests[element.get("test_id", "")] = (items, variables)

    def _read_item(self, element: etree._Element) -> None:
        if self._wanted_items is None:
            self._wanted_items = self._items_of(self._wanted)
        item_id = element.get("id", "")
        if item_id not in self._wanted_items:
            return
        fields = []
        for child in element:
            if isinstance(child.tag, str) and child.text and child.text.strip():
                fields.append(f"{local_name(child)}={' '.join(child.text.split())[:300]}")
        self._items[item_id] = f"{local_name(element).removesuffix('_item')}: {', '.join(fields)}"

    def _false_tests(self, definition_ids: list[str] | set[str]) -> list[str]:
        tests: list[str] = []
        pending = list(definition_ids)
        seen: set[str] = set()
        while pending:
            definition_id = pending.pop()
            if definition_id in seen:
                continue
            seen.add(definition_id)
            own, extended = self._definitions.get(definition_id, ([], []))
            tests.extend(own)
            pending.extend(extended)
        return tests

    def _items_of(self, definition_ids: set[str]) -> set[str]:
        return {
            item for test in self._false_tests(definition_ids) for item in self._tests.get(test, ([], []))[0]
        }

    def evidence(self, definition_ids: list[str]) -> tuple[str, str]:
        """(expected, actual) for a failed rule, from its definitions' false tests."""
        expected: list[str] = []
        actual: list[str] = []
        for test in self._false_tests(definition_ids):
            items, variables = self._tests.get(test, ([], []))
            expected.extend(v for v in variables if v not in expected)
            found = [self._items[i] for i in items[:MAX_ITEMS] if i in self._items]
            if found:
                actual.extend(found)
                if len(items) > MAX_ITEMS:
                    actual.append(f"... and {len(items) - MAX_ITEMS} more items")
            elif test in self._tests:
                comment = self._test_comments.get(test, "")
                actual.append(f"nothing found{': ' + comment if comment else ''}")
        return "; ".join(expected)[:MAX_EVIDENCE], "; ".join(actual)[:MAX_EVIDENCE]
