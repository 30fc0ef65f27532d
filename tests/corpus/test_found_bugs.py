"""Importer bugs the malformed-input corpus found, a focused test each: a clear refusal, nothing stored."""

import io
import json
import time
from datetime import UTC, datetime

import pytest

from intake.pipeline import ingest_stream
from posture.errors import RejectedFile
from posture.importers.json_input import parse_json
from tests.corpus.seeds import FIXTURES
from tests.db_state import database_state
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

JSON_FORMATS = ("defender", "kubernetes", "securitybaseline")
WHEN = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def refusal(content: bytes, file_format: str) -> str:
    """The message a file is refused with; the database must be as it was."""
    before = database_state()
    with pytest.raises(RejectedFile) as error:
        ingest_stream(io.BytesIO(content), file_format=file_format)
    assert database_state() == before
    message = error.value.message
    assert "\n" not in message, message
    assert len(message) < 300, message
    return message


@pytest.mark.parametrize("file_format", JSON_FORMATS)
@pytest.mark.parametrize("nested", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000])
def test_deeply_nested_json_is_refused_not_a_recursion_error(file_format: str, nested: bytes) -> None:
    assert refusal(nested, file_format) == "not valid JSON for Posture: arrays or objects nested too deeply"


@pytest.mark.parametrize("file_format", JSON_FORMATS)
def test_a_number_of_thousands_of_digits_is_refused_not_a_value_error(file_format: str) -> None:
    message = refusal(b"[" + b"7" * 5000 + b"]", file_format)
    assert message == "not valid JSON for Posture: a number too long to read"


def assessment(description: str) -> dict[str, object]:
    resource = (
        "/subscriptions/3f2a9c1e-0000-4000-8000-00000000a001/resourceGroups/rg/providers/"
        "Microsoft.Compute/virtualMachines/vm-1"
    )
    return {
        "type": "microsoft.security/assessments",
        "name": "d57a4221-a804-52ca-3dea-768284f06bb7",
        "properties": {
            "displayName": "Machines should have vulnerability findings resolved",
            "resourceDetails": {"Id": resource},
            "status": {"code": "Unhealthy", "description": description},
        },
    }


@pytest.mark.parametrize(
    ("escaped", "message"),
    [
        ("\\ud800", "a lone UTF-16 surrogate escape"),
        ("tail \\udfff", "a lone UTF-16 surrogate escape"),
        ("nul \\u0000 inside", "a NUL character"),
    ],
)
def test_text_no_database_stores_is_refused_before_the_insert_fails(escaped: str, message: str) -> None:
    content = json.dumps([assessment("@@")]).replace("@@", escaped).encode()
    assert message in refusal(content, "defender")


def test_a_paired_surrogate_escape_and_an_escaped_backslash_are_still_text() -> None:
    assert parse_json(b'["\\ud83d\\ude00", "\\\\u0000"]') == ["\U0001f600", "\\u0000"]


def test_utf_8_encoded_surrogates_are_not_utf_8() -> None:
    content = json.dumps([assessment("x")]).encode().replace(b'"x"', b'"\xed\xa0\x80"')
    assert refusal(content, "defender").startswith("the file is not UTF-8 text (byte ")


@pytest.mark.parametrize(
    ("file_format", "content", "message"),
    [
        ("defender", b"[null]", "record 1: expected an object, found null"),
        ("defender", b"[[]]", "record 1: expected an object, found an array"),
        ("kubernetes", b'{"apiVersion": "v1", "kind": "List", "items": [true]}', "found true"),
    ],
)
def test_a_record_of_the_wrong_type_is_named_in_json_words(
    file_format: str, content: bytes, message: str
) -> None:
    assert message in refusal(content, file_format)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tables": [None]}, "the first table has no 'columns' list"),
        ({"tables": [{"columns": [{"name": "Computer"}], "rows": 7}]}, "the first table has no 'rows' list"),
        ({"tables": [7.5]}, "the first table has no 'columns' list"),
    ],
)
def test_a_log_analytics_table_that_is_not_one_is_refused(document: object, message: str) -> None:
    assert refusal(json.dumps(document).encode(), "securitybaseline").endswith(message)


def test_libxml2_messages_that_span_lines_are_one_line() -> None:
    content = xccdf_result(host="h", results={"a": "pass"}, when=WHEN).replace(b"<title>", b"<title>\x00", 1)
    assert refusal(content, "scap").startswith("malformed or truncated XML at line 1:")


def test_a_huge_value_is_quoted_cut_short() -> None:
    content = xccdf_result(host="h", results={"a": "pass"}, when=WHEN).replace(
        b"<result>pass</result>", b"<result>" + b"x" * 10_000 + b"</result>"
    )
    assert refusal(content, "scap") == (
        f"rule-result 'xccdf_org.example.content_rule_a': result '{'x' * 78}… is not an XCCDF result value"
    )


def test_an_inventory_header_of_100000_unknown_columns_names_five() -> None:
    header = ",".join(["resource_id", "name", "kind", "subscription", *(f"c{i}" for i in range(100_000))])
    message = refusal(header.encode() + b"\n", "inventory")
    assert message.startswith("unknown column(s) 'c0', 'c1', 'c2', 'c3', 'c4' and 99995 more; ")


def test_an_inventory_header_repeating_a_column_100000_times_is_refused_at_once() -> None:
    started = time.monotonic()
    message = refusal(b",".join([b"name"] * 100_000) + b"\n", "inventory")
    assert message == "column(s) name appear more than once in the header"
    assert time.monotonic() - started < 5


ESTATE = (FIXTURES / "inventory" / "estate.csv").read_bytes()
BASELINE = (FIXTURES / "securitybaseline" / "dc-lon-07.csv").read_bytes()


@pytest.mark.parametrize(
    ("file_format", "content"),
    [
        ("inventory", ESTATE.replace(b",web-01,", b",web\x0001,", 1)),
        ("securitybaseline", BASELINE.replace(b",dc-lon-07,", b",dc\x00lon,", 1)),
    ],
)
def test_a_nul_in_a_csv_cell_is_refused_before_postgresql_refuses_it(
    file_format: str, content: bytes
) -> None:
    assert refusal(content, file_format) == "line 2: a cell holds a NUL character, which is not text"


@pytest.mark.parametrize(
    ("file_format", "content", "message"),
    [
        (
            "scap",
            xccdf_result(host="h" * 301, results={"a": "pass"}, when=WHEN),
            "the scan: hostname 'hhhhh",
        ),
        (
            "scap",
            xccdf_result(host="h", results={"a": "pass"}, when=WHEN, profile="p" * 400),
            "the scan: profile id 'ppp",
        ),
        (
            "scap",
            xccdf_result(host="h", results={"a": "pass"}, when=WHEN).replace(
                b"<version>1.0", b"<version>" + b"9" * 101
            ),
            "the benchmark: version '999",
        ),
        (
            "scap",
            xccdf_result(host="h", results={"a" * 300: "pass"}, when=WHEN),
            "a rule: rule id 'xccdf_org",
        ),
        ("securitybaseline", BASELINE.replace(b"CCE-37615-2", b"X" * 301), "a rule: rule id 'XXX"),
        ("inventory", ESTATE.replace(b",web-01,", b"," + b"w" * 301 + b",", 1), "line 2: name 'www"),
    ],
)
def test_a_value_longer_than_its_column_is_refused_before_postgresql_refuses_it(
    file_format: str, content: bytes, message: str
) -> None:
    refused = refusal(content, file_format)
    assert refused.startswith(message), refused
    assert "characters long; Posture keeps at most" in refused


def test_a_container_name_longer_than_its_column_is_refused() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c" * 254, "image": "busybox"}]},
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
    dump = {"cluster": "aks-prod", "list": {"apiVersion": "v1", "kind": "List", "items": [namespace, pod]}}
    refused = refusal(json.dumps(dump).encode(), "kubernetes")
    assert refused.startswith("item 2 (Pod default/p): spec.containers[0]: container 'ccc"), refused
