"""Evidence for failed rules from the OVAL results of an ARF report: what was expected, what was found.

A failed XCCDF rule points to an OVAL definition; its false criteria name tests; each test names an
object (which file, package, key...), states (the values required) and the items it collected on the
machine. The OVAL results come after the XCCDF TestResult in the file and carry their own copy of the
definitions (tests, objects, states) before the results and system data, so the definitions wanted are
known before they stream past. posture/importers/oval_evidence.py puts the pieces into words.
"""

from dataclasses import replace

from lxml import etree

from posture.importers.oval_evidence import OvalTest, Part, RuleWords, render_rule
from posture.xml import local_name

RESULTS_NS = "http://oval.mitre.org/XMLSchema/oval-results-5"
DEFINITIONS_NS = "http://oval.mitre.org/XMLSchema/oval-definitions-5"
SYSTEM_NS = "http://oval.mitre.org/XMLSchema/oval-system-characteristics-5"
DEFINITION_TAG = f"{{{RESULTS_NS}}}definition"
TEST_TAG = f"{{{RESULTS_NS}}}test"
OVAL_RECORD_TAGS = frozenset({DEFINITION_TAG, TEST_TAG})
SYSTEM_DATA_TAG = f"{{{SYSTEM_NS}}}system_data"
# The definitions' containers whose children (each a test, an object or a state) are read one by one.
OVAL_PART_TAGS = frozenset(f"{{{DEFINITIONS_NS}}}{name}" for name in ("tests", "objects", "states"))
MAX_FIELD = 1000  # a value longer than this (a file's whole text) is shortened, saying by how much


def _value_text(text: str | None) -> str:
    value = " ".join((text or "").split())
    if len(value) > MAX_FIELD:
        return f"{value[:MAX_FIELD]}… ({len(value) - MAX_FIELD} more characters)"
    return value


def _part(element: etree._Element) -> Part:
    """An object, a state or an item: its kind and its fields (name, value, operation, variable)."""
    fields = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = local_name(child)
        if name in ("behaviors", "set", "notes"):
            continue
        if name == "filter":  # the state it names, and include / exclude
            fields.append((name, (child.text or "").strip(), child.get("action", "exclude"), ""))
            continue
        fields.append((name, _value_text(child.text), child.get("operation", ""), child.get("var_ref", "")))
    kind = local_name(element).rpartition("_")[0]
    return Part(kind=kind, fields=tuple(fields))


class OvalCollector:
    def __init__(self) -> None:
        self._wanted: set[str] = set()
        self._test_elements: dict[str, etree._Element] = {}
        # Objects and states as read (out of the tree); put into fields only when a failed rule's
        # evidence names them: a few dozen of the thousands a scan holds.
        self._objects: dict[str, etree._Element] = {}
        self._states: dict[str, etree._Element] = {}
        # definition id -> (false test ids, extended definition ids)
        self._definitions: dict[str, tuple[list[str], list[str]]] = {}
        # test id -> item ids
        self._tests: dict[str, list[str]] = {}
        # variable id -> values, as the tests that used them report them
        self._variables: dict[str, list[str]] = {}
        self._items: dict[str, Part] = {}
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

    def definition_part(self, element: etree._Element) -> None:
        """A test, object or state of the OVAL definitions, kept as read (out of the tree) and put into
        fields only if a failed rule's evidence names it. Tests are kept from every copy (the last
        wins); objects and states only once a rule failed (the results' copy, after the TestResult)."""
        tag = element.tag
        if not isinstance(tag, str):
            return
        if tag.endswith("_test"):
            self._test_elements[element.get("id", "")] = element
        elif self._wanted and tag.endswith("_object"):
            self._objects[element.get("id", "")] = element
        elif self._wanted and tag.endswith("_state"):
            self._states[element.get("id", "")] = element

    def _test_info(self, test_id: str) -> OvalTest | None:
        element = self._test_elements.get(test_id)
        if element is None:
            return None
        # Filtered by libxml2 ("{*}": any namespace), not by a Python loop over every child.
        objects = [child.get("object_ref", "") for child in element.iterchildren("{*}object")]
        states = [child.get("state_ref", "") for child in element.iterchildren("{*}state")]
        return OvalTest(
            kind=local_name(element).removesuffix("_test"),
            comment=element.get("comment", ""),
            check_existence=element.get("check_existence", "at_least_one_exists"),
            object_ref=objects[0] if objects else "",
            state_refs=tuple(states),
        )

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
        for child in element.iterchildren("{*}tested_item", "{*}tested_variable"):
            if local_name(child) == "tested_item":
                items.append(child.get("item_id", ""))
            elif child.text:
                values = self._variables.setdefault(child.get("variable_id", ""), [])
                if child.text.strip() not in values:
                    values.append(child.text.strip())
        self._tests[element.get("test_id", "")] = items

    def _read_item(self, element: etree._Element) -> None:
        if self._wanted_items is None:
            self._wanted_items = self._items_of(self._wanted)
        item_id = element.get("id", "")
        if item_id in self._wanted_items:
            self._items[item_id] = _part(element)

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
            tests.extend(test for test in own if test not in tests)
            pending.extend(extended)
        return tests

    def _items_of(self, definition_ids: set[str]) -> set[str]:
        return {item for test in self._false_tests(definition_ids) for item in self._tests.get(test, [])}

    def evidence(self, definition_ids: list[str]) -> tuple[str, str]:
        """(expected, actual) in words for a failed rule, from its definitions' false tests."""
        return self.rendered(definition_ids).text()

    def _object(self, object_id: str) -> Part | None:
        """The object, with the states its filters name."""
        obj = self._part_of(self._objects, object_id)
        if obj is None:
            return None
        filters = tuple(
            (action, state_part)
            for name, state, action, _ in obj.fields
            if name == "filter" and (state_part := self._part_of(self._states, state)) is not None
        )
        return replace(obj, filters=filters)

    @staticmethod
    def _part_of(elements: dict[str, etree._Element], part_id: str) -> Part | None:
        element = elements.get(part_id)
        return None if element is None else _part(element)

    def rendered(self, definition_ids: list[str]) -> RuleWords:
        """The failed rule's false tests in words (and the family of each)."""
        tests = []
        for test_id in self._false_tests(definition_ids):
            if test_id not in self._tests:
                continue
            # A test the definitions do not describe: its items are shown raw.
            info = self._test_info(test_id) or OvalTest(kind="")
            tests.append(
                (
                    info,
                    self._object(info.object_ref),
                    [s for ref in info.state_refs if (s := self._part_of(self._states, ref)) is not None],
                    [self._items[i] for i in self._tests[test_id] if i in self._items],
                    len(self._tests[test_id]),
                )
            )
        return render_rule(tests, self._variables)
