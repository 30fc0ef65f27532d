"""Defender's SecurityBaseline table (Windows baseline rules with CCE IDs), as CSV or JSON."""

import io
import json
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from recommendations.models import Finding, Rule, Scan
from tests.db_state import database_state
from tests.factories import make_resource

pytestmark = pytest.mark.django_db

CSV = Path(__file__).resolve().parent.parent / "fixtures" / "securitybaseline" / "dc-lon-07.csv"


def test_portal_csv_export_imports_rules_and_findings():
    machine = make_resource(name="dc-lon-07", kind="arc_machine", os="windows")
    result = ingest_file(CSV)
    assert result.status == "imported", result.error
    assert result.format == "securitybaseline"
    assert result.counts["results"] == {"fail": 3, "pass": 1}
    assert result.counts["rules_with_cce"] == 4
    # CCE-38347-1 (lock screen camera) is not in Microsoft's published baseline: imported, and counted.
    assert (result.counts["rules_in_baseline"], result.counts["rules_outside_baseline"]) == (3, 1)
    assert result.counts["resource_id"] == machine.resource_id
    scan = Scan.objects.get()
    assert scan.scanned_at.isoformat() == "2026-11-27T06:02:11+00:00"
    rule = Rule.objects.get(key="CCE-37615-2")
    assert rule.title == "Accounts: Limit local account use of blank passwords to console logon only"
    # The published baseline's rule: its facts, not the export's (which calls it a Security Policy).
    assert (rule.severity, rule.rule_type, rule.os) == ("critical", "Registry", "windows")
    assert rule.key_path == "SYSTEM\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse"
    assert Rule.objects.get(key="CCE-38347-1").severity == "medium"  # Warning
    assert Rule.objects.get(key="CCE-38347-1").rule_type == "Registry"
    finding = Finding.objects.get(rule__key="CCE-37615-2")
    assert (finding.state, finding.expected, finding.actual) == ("open", "1", "0")
    assert Finding.objects.get(rule__key="CCE-37281-3").state == "passed"


def rows_json(**overrides: str) -> bytes:
    row = {
        "TimeGenerated": "2026-11-27T06:02:11Z",
        "Computer": "app-01",
        "ResourceId": "",
        "OSName": "Windows Server 2022",
        "BaselineType": "WindowsOS",
        "BaselineRuleType": "Audit Policy",
        "CceId": "CCE-37133-6",
        "Description": "Audit Credential Validation",
        "RuleSeverity": "Critical",
        "ExpectedResult": "Success and Failure",
        "ActualResult": "No Auditing",
        "AnalyzeResult": "Failed",
    }
    row.update(overrides)
    return json.dumps([row]).encode()


def test_json_rows_and_log_analytics_tables_are_read():
    counts = ingest_stream(io.BytesIO(rows_json()), file_format="securitybaseline")
    assert counts["results"] == {"fail": 1}
    columns = ["TimeGenerated", "Computer", "CceId", "AnalyzeResult", "RuleSeverity", "BaselineType"]
    api = {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": c, "type": "string"} for c in columns],
                "rows": [
                    ["2026-11-28T06:00:00Z", "app-01", "CCE-37133-6", "passed", "critical", "windowsos"]
                ],
            }
        ]
    }
    again = ingest_stream(io.BytesIO(json.dumps(api).encode()), file_format="securitybaseline")
    assert again["findings_resolved"] == 1
    assert Finding.objects.get().state == "resolved"


def test_format_is_detected_from_content(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(rows_json())
    assert ingest_file(path).format == "securitybaseline"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AnalyzeResult": "Maybe"}, "AnalyzeResult 'Maybe' is not one of Failed, Passed"),
        ({"RuleSeverity": "Severe"}, "RuleSeverity 'Severe' is not one of Critical, Informational, Warning"),
        ({"BaselineType": "MacOS"}, "BaselineType 'MacOS' is not one of"),
        ({"TimeGenerated": "yesterday"}, "TimeGenerated 'yesterday' is not a time"),
        ({"Computer": ""}, "Computer is empty"),
        ({"CceId": ""}, "CceId is empty"),
    ],
)
def test_unknown_values_are_errors_not_guesses(overrides, message):
    before = database_state()
    with pytest.raises(RejectedFile, match=message):
        ingest_stream(io.BytesIO(rows_json(**overrides)), file_format="securitybaseline")
    assert database_state() == before


def test_missing_columns_are_named():
    with pytest.raises(RejectedFile, match="missing column"):
        ingest_stream(io.BytesIO(b"Computer,Description\nx,y\n"), file_format="securitybaseline")


def test_reason_names_defenders_critical_rules_as_critical():
    """Defender's Critical is not "high severity": the reason counts each severity by its own name."""
    machine = make_resource(name="dc-lon-07", kind="arc_machine", os="windows")
    assert ingest_file(CSV).status == "imported"
    assessment = machine.assessments.get(recommendation__key="machine-config-vulns")
    assert (assessment.status, assessment.reason) == (
        "unhealthy",
        "3 failed OS configuration rules (2 critical, 1 medium)",
    )
