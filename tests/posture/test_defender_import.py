"""Import of Defender assessments exported from Azure Resource Graph."""

import io
import json
from pathlib import Path
from typing import Any

import pytest

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from posture.models import Resource, Subscription
from recommendations.models import Assessment
from tests.db_state import database_state

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPORT = FIXTURES / "defender" / "arg-assessments.json"
VM = "/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"


def record(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": "d1db3318-01ff-16de-29eb-28b344515626",
        "type": "microsoft.security/assessments",
        "subscriptionId": "s-1",
        "properties": {
            "displayName": "Log Analytics agent should be installed on your virtual machines",
            "resourceDetails": {"Source": "Azure", "Id": VM},
            "status": {"code": "Unhealthy", "cause": "", "description": "Agent not installed"},
        },
    }
    item.update(overrides)
    return item


def ingest_json(document: Any) -> dict[str, int]:
    return ingest_stream(io.BytesIO(json.dumps(document).encode()), file_format="defender")


def test_export_creates_resources_and_subscriptions_it_does_not_know():
    result = ingest_file(EXPORT)
    assert result.status == "imported", result.error
    assert result.format == "defender"
    assert result.counts["assessments_created"] == 10
    assert result.counts["resources_created"] == 6
    sub = Subscription.objects.get()
    assert sub.name == sub.external_id == "3f2a9c1e-0000-4000-8000-00000000a001"
    kinds = dict(Resource.objects.values_list("name", "kind"))
    assert kinds == {
        "web-01": "vm",
        "web-02": "vm",
        "db-01": "vm",
        "api": "vmss",
        "aks-prod": "k8s_cluster",
        "dc-lon-07": "arc_machine",
    }
    off = Assessment.objects.get(resource__name="dc-lon-07")
    assert (off.status, off.cause) == ("not_applicable", "OffByPolicy")
    assert off.reason == "The effective policy for the assessment was evaluated to off"
    no_scan = Assessment.objects.get(resource__name="web-02", recommendation__key="machine-config-vulns")
    assert (no_scan.status, no_scan.reason) == ("not_applicable", "No scan data available on the machine")
    assert no_scan.first_evaluated.isoformat() == "2026-11-02T09:14:03.113000+00:00"


def test_export_attaches_to_inventory_resources_and_keeps_their_subscription():
    ingest_file(FIXTURES / "inventory" / "estate.csv")
    result = ingest_file(EXPORT)
    assert result.counts["resources_created"] == 0
    assert result.counts["subscriptions_created"] == 0
    assert Subscription.objects.filter(name="Production").get().resources.count() == 8


def test_importing_the_export_twice_changes_nothing():
    ingest_file(EXPORT)
    before = database_state()
    again = ingest_file(EXPORT)
    assert again.counts["assessments_unchanged"] == 10
    assert database_state() == before


def test_bare_list_and_display_name_matching():
    item = record(name="not-a-known-key")
    counts = ingest_json([item])
    assert counts["assessments_created"] == 1
    assessment = Assessment.objects.get()
    assert assessment.recommendation.key == "vm-agent-installed"
    assert assessment.reason == "Agent not installed"


def test_former_display_names_match_too():
    item = record(name="")
    item["properties"]["displayName"] = "Machines should be configured securely"
    ingest_json({"data": [item]})
    assert Assessment.objects.get().recommendation.key == "machine-config-vulns"


def test_status_change_updates_the_assessment():
    ingest_json([record()])
    healthy = record()
    healthy["properties"]["status"] = {"code": "healthy"}
    counts = ingest_json([healthy])
    assert counts["assessments_changed"] == 1
    assessment = Assessment.objects.get()
    assert (assessment.status, assessment.reason) == ("healthy", "")


def test_scale_set_instances_are_linked_to_their_scale_set():
    vmss = "/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/api"
    scale_set = record(name="45cfe080-ceb1-a91e-9743-71551ed24e94")
    scale_set["properties"]["resourceDetails"]["Id"] = vmss
    instance = record()
    instance["properties"]["resourceDetails"]["Id"] = f"{vmss}/virtualMachines/3"
    ingest_json([instance, scale_set])
    child = Resource.objects.get(kind="vmss_instance")
    assert child.name == "api_3"
    assert child.parent is not None
    assert child.parent.name == "api"


def test_records_it_cannot_place_are_counted_not_silently_dropped():
    storage = record()
    storage["properties"]["resourceDetails"]["Id"] = (
        "/subscriptions/s-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/logs"
    )
    unknown = record(name="0000")
    unknown["properties"]["displayName"] = "Storage accounts should restrict network access"
    counts = ingest_json([record(), storage, unknown])
    assert counts["assessments_created"] == 1
    assert counts["skipped_unsupported_resource"] == 1
    assert counts["skipped_unknown_recommendation"] == 1


def _without(path: str) -> dict[str, Any]:
    item = record()
    *parents, last = path.split(".")
    target = item
    for part in parents:
        target = target[part]
    del target[last]
    return item


MALFORMED: list[tuple[str, bytes, str]] = [
    (
        "not json",
        b"resource_id,name\nvm,1\n",
        "not a Defender export: a CSV needs the portal report's columns",
    ),
    ("truncated", json.dumps([record()]).encode()[:-40], "not valid JSON"),
    ("empty", b"", "the file is empty"),
    ("whitespace", b"  \n", "the file is empty"),
    ("object without data", b'{"rows": []}', "expected a JSON list of assessments"),
    ("scalar", b"42", "expected a JSON list of assessments"),
    (
        "record not an object",
        json.dumps([record(), 7]).encode(),
        "record 2: expected an object, found a number",
    ),
    ("other type", json.dumps([record(type="microsoft.compute/virtualmachines")]).encode(), "record 1: type"),
    (
        "no resource",
        json.dumps([_without("properties.resourceDetails")]).encode(),
        "resourceDetails' is missing",
    ),
    ("no status", json.dumps([_without("properties.status")]).encode(), "'properties.status' is missing"),
    (
        "bad status",
        json.dumps([record(properties={**record()["properties"], "status": {"code": "Sick"}})]).encode(),
        "status code 'Sick'",
    ),
    ("duplicate", json.dumps([record(), record()]).encode(), "record 2: a second assessment"),
    ("not utf-8", b'["\xff\xfe"]', "not UTF-8"),
]


@pytest.mark.parametrize(("case", "content", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_export_is_rejected_and_changes_nothing(case, content, message):
    ingest_file(EXPORT)
    before = database_state()
    with pytest.raises(RejectedFile) as error:
        ingest_stream(io.BytesIO(content), file_format="defender")
    assert message in error.value.message
    assert "\n" not in error.value.message
    assert database_state() == before
