"""Real scan documents ingested the way an upload is, for the OS-configuration page tests.

XCCDF results come from tests/scap_builder.py; SecurityBaseline exports are the Log Analytics rows as
JSON. Both go through intake.pipeline, so findings are derived exactly as in production.
"""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from intake.pipeline import ingest_stream
from tests.scap_builder import xccdf_result

ROOT = Path(__file__).resolve().parent.parent
OSCAP = ROOT.parent / "shared" / "data" / "oscap"
RHEL9 = OSCAP / "rhel9-stig.arf.xml.xz"

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=7)
XSS = "<svg onload=alert(1)>"


def scan_xccdf(
    host: str,
    results: dict[str, str],
    *,
    when: datetime = T1,
    cces: dict[str, str] | None = None,
    severities: dict[str, str] | None = None,
    titles: dict[str, str] | None = None,
    bare: bool = False,
    profile: str = "xccdf_org.example.content_profile_test",
) -> dict[str, Any]:
    """Ingest an OpenSCAP-style XCCDF result for `host` (rule name -> result)."""
    document = xccdf_result(
        host=host,
        results=results,
        when=when,
        cces=cces,
        severities=severities,
        titles=titles,
        bare=bare,
        profile=profile,
    )
    return ingest_stream(io.BytesIO(document), file_format="scap")


def baseline_row(computer: str, cce: str, result: str, **fields: str) -> dict[str, str]:
    """One SecurityBaseline row (Windows); `result` is Passed or Failed."""
    row = {
        "TimeGenerated": T1.isoformat(),
        "Computer": computer,
        "ResourceId": "",
        "OSName": "Windows Server 2022",
        "BaselineType": "WindowsOS",
        "BaselineRuleType": "Registry Key",
        "CceId": cce,
        "Description": f"Baseline rule {cce}",
        "RuleSeverity": "Critical",
        "RuleSetting": "Setting",
        "ExpectedResult": "1",
        "ActualResult": "0" if result == "Failed" else "1",
        "AnalyzeResult": result,
    }
    row.update(fields)
    return row


def scan_baseline(rows: list[dict[str, str]]) -> dict[str, Any]:
    return ingest_stream(io.BytesIO(json.dumps(rows).encode()), file_format="securitybaseline")
