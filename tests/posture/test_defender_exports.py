"""Defender for Cloud's export shapes, each detected from its content.

Samples and where they came from:
- defender/rest-list-assessments.json: GENUINE. The response body of Microsoft's published example of
  `GET .../providers/Microsoft.Security/assessments` (Azure/azure-rest-api-specs,
  specification/security/resource-manager/Microsoft.Security/stable/2021-06-01/examples/Assessments/
  ListAssessments_example.json, commit 36a2d995e82391f3661a047c0ae0d90cc52037d3, MIT), copied whole.
  Its recommendation (endpoint protection on scale sets) is outside Posture's catalog: counted, skipped.
- The REST pages and `az security assessment list` output below are DERIVED: built here from that
  genuine record and the documented shapes (`nextLink` pages; az's SDK models flatten `properties`),
  since no public file of them with a catalog recommendation was found.
- defender/portal-report.DERIVED.csv: DERIVED. Written from the report's documented header (the columns
  the issue lists, as the portal's "Download CSV report" writes them, UTF-8 with a byte order mark); no
  genuine public report file was found after a search of GitHub code and web pages.
- defender/securityrecommendation.DERIVED.csv / .json: DERIVED. Written from the SecurityRecommendation
  table's documented columns (MicrosoftDocs/azure-reference-other, azure-monitor-ref/tables/
  securityrecommendation.md), as the Log Analytics portal exports CSV (`TimeGenerated [UTC]`, US times)
  and the query API returns JSON (`tables`); no genuine export was found.
"""

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from intake.pipeline import ingest_file, ingest_files, ingest_stream
from posture.importers.detect import detect_format
from posture.models import Resource, Subscription
from recommendations.models import Assessment
from tests.db_state import database_state

pytestmark = pytest.mark.django_db

DEFENDER = Path(__file__).resolve().parent.parent / "fixtures" / "defender"
REST = DEFENDER / "rest-list-assessments.json"
PORTAL = DEFENDER / "portal-report.DERIVED.csv"
TABLE_CSV = DEFENDER / "securityrecommendation.DERIVED.csv"
TABLE_JSON = DEFENDER / "securityrecommendation.DERIVED.json"
SUB = "3f2a9c1e-0000-4000-8000-00000000a001"
WEB = f"/subscriptions/{SUB}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-01"
DB = f"/subscriptions/{SUB}/resourceGroups/prod-data/providers/Microsoft.Compute/virtualMachines/db-02"
MACHINE_CONFIG = "c476dc48-8110-4139-91af-c8d940896b98"


def statuses() -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (a.resource.name, a.recommendation.key): (a.status, a.reason)
        for a in Assessment.objects.select_related("resource", "recommendation")
    }


def catalog_record() -> dict[str, Any]:
    """The genuine REST record, pointed at a catalog recommendation and a scale set of ours (DERIVED)."""
    item = copy.deepcopy(json.loads(REST.read_text())["value"][1])
    scale_set = f"/subscriptions/{SUB}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachineScaleSets/api"  # noqa: E501
    item["name"] = "8941d121-f740-35f6-952c-6561d2b38d36"
    item["id"] = f"{scale_set}/providers/Microsoft.Security/assessments/{item['name']}"
    item["properties"]["resourceDetails"]["id"] = scale_set
    item["properties"]["displayName"] = (
        "Vulnerabilities in security configuration on your virtual machine scale sets should be remediated"
    )
    item["properties"]["status"] = {"code": "Unhealthy", "description": "3 of 4 instances fail"}
    return item


@pytest.mark.parametrize("path", [REST, PORTAL, TABLE_CSV, TABLE_JSON])
def test_every_shape_is_detected_as_a_defender_export(path):
    assert detect_format(path.read_bytes()[:8192]) == "defender"


def test_genuine_rest_list_response_is_read_and_its_unknown_recommendation_counted():
    result = ingest_file(REST)
    assert result.status == "imported", result.error
    assert result.format == "defender"
    assert result.counts["skipped_unknown_recommendation"] == 2
    assert result.counts["assessments_created"] == 0
    assert not Resource.objects.exists()


def test_rest_pages_given_at_once_read_as_one_export():
    first, second = catalog_record(), catalog_record()
    second["properties"]["resourceDetails"]["id"] = WEB
    second["name"] = MACHINE_CONFIG
    second["properties"]["displayName"] = "Vulnerabilities in security configuration on your machines"
    pages = [
        {"value": [first], "nextLink": "https://management.azure.com/...&$skipToken=abc"},
        {"value": [second]},
    ]
    result = ingest_stream(io.BytesIO(json.dumps(pages).encode()), file_format="defender")
    assert result["assessments_created"] == 2
    assert statuses() == {
        ("api", "vmss-config-vulns"): ("unhealthy", "3 of 4 instances fail"),
        ("web-01", "machine-config-vulns"): ("unhealthy", "3 of 4 instances fail"),
    }


def test_several_rest_pages_as_files_in_one_ingest(tmp_path):
    pages = []
    for number, resource in enumerate((WEB, DB)):
        item = catalog_record()
        item["name"] = MACHINE_CONFIG
        item["properties"]["resourceDetails"]["id"] = resource
        path = tmp_path / f"page-{number}.json"
        path.write_text(json.dumps({"value": [item], "nextLink": None}))
        pages.append(path)
    results = ingest_files(pages)
    assert [r.status for r in results] == ["imported", "imported"]
    assert {name for name, _ in statuses()} == {"web-01", "db-02"}


def test_az_security_assessment_list_output_with_flattened_properties():
    rest = catalog_record()
    flattened = {k: v for k, v in rest.items() if k != "properties"} | rest["properties"]
    result = ingest_stream(io.BytesIO(json.dumps([flattened]).encode()), file_format="defender")
    assert result["assessments_created"] == 1
    assert statuses() == {("api", "vmss-config-vulns"): ("unhealthy", "3 of 4 instances fail")}


def test_portal_csv_report_with_bom_names_the_subscription_and_matches_by_id_then_name():
    result = ingest_file(PORTAL)
    assert result.status == "imported", result.error
    assert result.format == "defender"
    assert result.counts["assessments_created"] == 3
    assert result.counts["skipped_unknown_recommendation"] == 1  # a storage account recommendation
    assert statuses() == {
        ("web-01", "machine-config-vulns"): ("unhealthy", ""),
        ("web-01", "vm-agent-installed"): ("healthy", ""),
        # No recommendationId on this row: matched by its display name; the reason is the cause.
        ("db-02", "machine-config-vulns"): ("not_applicable", "Machine is stopped"),
    }
    subscription = Subscription.objects.get()
    assert (subscription.name, subscription.external_id) == ("Contoso Production", SUB)
    first = Assessment.objects.get(resource__name="web-01", recommendation__key="machine-config-vulns")
    assert first.status_changed.isoformat() == "2026-11-20T17:40:11.287000+00:00"


def test_a_subscription_named_by_its_id_takes_the_reports_name():
    Subscription.objects.create(name=SUB, external_id=SUB)
    result = ingest_file(PORTAL)
    assert result.counts["subscriptions_renamed"] == 1
    assert Subscription.objects.get().name == "Contoso Production"
    before = database_state()
    assert ingest_file(PORTAL).counts["assessments_unchanged"] == 3
    assert database_state() == before


@pytest.mark.parametrize("path", [TABLE_CSV, TABLE_JSON])
def test_security_recommendation_rows_keep_each_assessments_latest_row(path):
    result = ingest_file(path)
    assert result.status == "imported", result.error
    assert result.format == "defender"
    # web-01's three rows: Unhealthy 1 Dec, Unhealthy 2 Dec, Healthy 3 Dec (out of order in the file).
    assert statuses() == {
        ("web-01", "machine-config-vulns"): ("healthy", ""),
        ("db-02", "vm-agent-installed"): ("not_applicable", "Machine is stopped"),
    }
    healthy = Assessment.objects.get(resource__name="web-01")
    assert healthy.status_changed.isoformat() == "2026-12-03T06:00:00+00:00"


def test_a_bad_state_is_rejected_with_its_line_and_nothing_is_written(tmp_path):
    text = PORTAL.read_text(encoding="utf-8-sig").replace("Healthy", "Fine", 1)
    bad = tmp_path / "report.csv"
    bad.write_text(text, encoding="utf-8-sig")
    result = ingest_file(bad)
    assert result.status == "rejected"
    # The second row starts on line 4: the first one's remediation steps span two lines.
    assert result.error == "line 4: state 'Fine' is not one of Healthy, Unhealthy, NotApplicable"
    assert not Assessment.objects.exists()
    assert not Subscription.objects.exists()
