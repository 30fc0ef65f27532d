"""Defender's `SecurityBaseline` table exported from Log Analytics, as CSV or JSON.

CSV is the portal's export (`TimeGenerated [UTC]`, `Computer`, `CceId`, `AnalyzeResult`, ...); JSON is
either a list of row objects or the Log Analytics query API's `{"tables": [{"columns", "rows"}]}`.
Values are matched case-insensitively; a value outside the documented ones is an error, not a guess.
Each computer in the file becomes one scan.
"""

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from posture.errors import RejectedFile, shown
from posture.importers.json_input import parse_json
from posture.importers.limits import check_document
from posture.importers.records import BenchmarkRecord, RuleRecord, RuleResultRecord, ScanRecord, ScapDocument
from posture.importers.rule_types import baseline_rule_type

CCE_PATTERN = re.compile(r"^CCE-\d{4,5}-\d$", re.IGNORECASE)
RESULTS = {"passed": "pass", "failed": "fail"}
SEVERITIES = {"critical": "critical", "warning": "medium", "informational": "info"}
OS_TYPES = {"windowsos": "windows", "windows": "windows", "linux": "linux", "linuxos": "linux"}
REQUIRED = ("computer", "cceid", "analyzeresult")
TIME_FORMATS = ("%m/%d/%Y, %I:%M:%S.%f %p", "%m/%d/%Y, %I:%M:%S %p", "%m/%d/%Y %I:%M:%S %p")
BENCHMARK = {
    "windows": BenchmarkRecord(
        "microsoft-security-baseline-windows",
        "",
        "Microsoft security baseline for Windows (Defender)",
        "windows",
    ),
    "linux": BenchmarkRecord(
        "microsoft-security-baseline-linux", "", "Microsoft security baseline for Linux (Defender)", "linux"
    ),
}


def _column(name: str) -> str:
    """`TimeGenerated [UTC]` -> timegenerated; matching is case- and decoration-insensitive."""
    return re.sub(r"\s*\[.*?\]\s*$", "", name).strip().lower()


def _rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, str]]]:
    head = stream.read(1)
    while head in (b" ", b"\n", b"\r", b"\t", b"\xef", b"\xbb", b"\xbf"):
        head = stream.read(1)
    if not head:
        raise RejectedFile("the file is empty")
    if head in (b"[", b"{"):
        yield from _json_rows(head + stream.read())
        return
    text = io.TextIOWrapper(io.BufferedReader(_Prefixed(head, stream)), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = [_column(c) for c in next(reader)]
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise RejectedFile(f"line {reader.line_num}: expected {len(header)} fields, found {len(row)}")
            if any("\x00" in cell for cell in row):
                raise RejectedFile(f"line {reader.line_num}: a cell holds a NUL character, which is not text")
            yield reader.line_num, dict(zip(header, (c.strip() for c in row), strict=True))
    except UnicodeDecodeError as error:
        raise RejectedFile(f"the file is not UTF-8 text (byte {error.start})") from None
    except csv.Error as error:
        raise RejectedFile(f"line {reader.line_num}: malformed CSV ({error})") from None


class _Prefixed(io.RawIOBase):
    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._prefix or self._rest.read(len(buffer))
        self._prefix = b""
        buffer[: len(data)] = data
        return len(data)


def _json_rows(raw: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    document = parse_json(raw)
    if isinstance(document, dict) and isinstance(document.get("tables"), list) and document["tables"]:
        table = document["tables"][0]
        if not isinstance(table, dict) or not isinstance(table.get("columns"), list):
            raise RejectedFile("not a SecurityBaseline export: the first table has no 'columns' list")
        if not isinstance(table.get("rows"), list):
            raise RejectedFile("not a SecurityBaseline export: the first table has no 'rows' list")
        columns = [_column(str(c.get("name", ""))) for c in table["columns"] if isinstance(c, dict)]
        records = [dict(zip(columns, row, strict=False)) for row in table["rows"] if isinstance(row, list)]
    elif isinstance(document, list):
        records = [
            {_column(str(k)): v for k, v in item.items()} if isinstance(item, dict) else item
            for item in document
        ]
    else:
        raise RejectedFile(
            "not a SecurityBaseline export: expected a list of rows or a Log Analytics 'tables' object"
        )
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise RejectedFile(f"row {number}: expected an object")
        yield number, {k: "" if v is None else str(v).strip() for k, v in record.items()}


def _time(where: str, value: str) -> datetime:
    if not value:
        raise RejectedFile(f"{where}: TimeGenerated is empty")
    return export_time(where, "TimeGenerated", value)


def export_time(where: str, column: str, value: str) -> datetime:
    """A time as Log Analytics and Defender's exports write it (ISO 8601, or the portal's US format);
    UTC when it says no offset, as these exports' times are."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        for pattern in TIME_FORMATS:
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise RejectedFile(f"{where}: {column} {shown(value)} is not a time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _choice(where: str, column: str, value: str, mapping: dict[str, str]) -> str:
    found = mapping.get(value.strip().lower().replace(" ", ""))
    if found is None:
        allowed = ", ".join(sorted({k.title() for k in mapping}))
        raise RejectedFile(f"{where}: {column} {shown(value)} is not one of {allowed}")
    return found


def read_security_baseline(stream: IO[bytes]) -> ScapDocument:
    document = ScapDocument()
    scans: dict[tuple[str, str], ScanRecord] = {}
    rules: dict[str, RuleRecord] = {}
    seen_header = False
    for number, row in _rows(stream):
        where = f"line {number}" if isinstance(number, int) else str(number)
        if not seen_header:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise RejectedFile(f"not a SecurityBaseline export: missing column(s) {', '.join(missing)}")
            seen_header = True
        computer = row.get("computer", "")
        if not computer:
            raise RejectedFile(f"{where}: Computer is empty")
        rule_id = row.get("cceid", "")
        if not rule_id:
            raise RejectedFile(f"{where}: CceId is empty")
        cce = rule_id.upper() if CCE_PATTERN.match(rule_id) else ""
        result = _choice(where, "AnalyzeResult", row.get("analyzeresult", ""), RESULTS)
        severity = _choice(where, "RuleSeverity", row.get("ruleseverity", "") or "informational", SEVERITIES)
        os_name = _choice(where, "BaselineType", row.get("baselinetype", "") or "windowsos", OS_TYPES)
        moment = _time(where, row.get("timegenerated", ""))
        key = (computer.lower(), row.get("resourceid", "").lower())
        scan = scans.get(key)
        if scan is None:
            scan = scans[key] = ScanRecord(
                source_format="securitybaseline",
                scanned_at=moment,
                hostname=computer,
                os=os_name,
                os_name=row.get("osname", ""),
                profile_id=f"securitybaseline:{os_name}",
                profile_title=BENCHMARK[os_name].title,
                resource_id=row.get("resourceid", ""),
            )
        scan.scanned_at = max(scan.scanned_at, moment)
        scan.results.append(
            RuleResultRecord(
                rule_id=cce or rule_id,
                cce=cce,
                result=result,
                severity=severity,
                expected=row.get("expectedresult", ""),
                actual=row.get("actualresult", ""),
            )
        )
        rules.setdefault(
            cce or rule_id,
            RuleRecord(
                rule_id=cce or rule_id,
                cce=cce,
                title=row.get("description", "") or rule_id,
                severity=severity,
                rule_type=baseline_rule_type(row.get("baselineruletype", "")),
                os=os_name,
                expected=row.get("expectedresult", ""),
                fix_text=(
                    f"Set {row['rulesetting']} to {row.get('expectedresult', '')!r}"
                    f" ({row.get('analyzeoperation', 'Equals')})."
                    if row.get("rulesetting")
                    else ""
                ),
            ),
        )
    if not scans:
        raise RejectedFile("the export holds no rows")
    first = next(iter(scans.values()))
    document.benchmark = BENCHMARK[first.os]
    document.rules = list(rules.values())
    document.scans = list(scans.values())
    check_document(document)
    return document
