"""Inventory CSV import: the documented format, idempotence, and strict rejection of bad files."""

import io
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from posture.models import Resource, Subscription
from tests.db_state import database_state

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ESTATE = FIXTURES / "inventory" / "estate.csv"
HEADER = "resource_id,name,kind,os,subscription"


def ingest_text(text: str) -> dict[str, int]:
    return ingest_stream(io.BytesIO(text.encode()), file_format="inventory")


def test_estate_fixture_imports_every_field():
    result = ingest_file(ESTATE)
    assert result.status == "imported", result.error
    assert result.format == "inventory"
    assert result.counts == {
        "resources_created": 9,
        "resources_changed": 0,
        "resources_unchanged": 0,
        "subscriptions_created": 2,
    }
    web = Resource.objects.get(name="web-01")
    assert (web.kind, web.os, web.subscription.name, web.resource_group) == (
        "vm",
        "linux",
        "Production",
        "prod-web",
    )
    assert web.tags == {"owner": "web", "env": "prod"}
    assert (web.agent_state, web.agent_version, web.workspace_id) == ("installed", "1.19.0", "ws-prod")
    assert web.last_heartbeat is not None
    assert web.last_heartbeat.isoformat() == "2026-11-27T23:55:00+00:00"
    instance = Resource.objects.get(name="api_1")
    assert instance.parent is not None
    assert instance.parent.name == "api"
    assert (instance.power_state, instance.agent_state) == ("stopped", "pending")
    lab = Resource.objects.get(name="lab-01")
    assert lab.tags == {"site": "lab", "note": "a,b"}
    assert (lab.kind, lab.subscription.name, lab.power_state) == ("arc_machine", "Lab", "deallocated")
    assert Resource.objects.get(name="aks-prod").os == ""


def test_importing_the_same_file_twice_changes_nothing():
    ingest_file(ESTATE)
    before = database_state()
    again = ingest_file(ESTATE)
    assert again.counts["resources_unchanged"] == 9
    assert again.counts["resources_created"] == again.counts["resources_changed"] == 0
    assert database_state() == before


def test_a_changed_row_updates_the_resource():
    ingest_text(f"{HEADER},agent\nvm:1,one,vm,linux,prod,installed\nvm:2,two,vm,linux,prod,\n")
    counts = ingest_text(f"{HEADER},agent\nvm:1,one,vm,windows,prod,installed\nvm:2,two,vm,linux,prod,\n")
    assert (counts["resources_changed"], counts["resources_unchanged"]) == (1, 1)
    assert Resource.objects.get(resource_id="vm:1").os == "windows"


def test_resource_ids_match_case_insensitively():
    ingest_text(f"{HEADER}\n/subscriptions/A/VM1,vm1,vm,linux,prod\n")
    counts = ingest_text(f"{HEADER}\n/subscriptions/a/vm1,vm1,vm,linux,prod\n")
    assert counts["resources_unchanged"] == 1
    assert Resource.objects.count() == 1


def test_enum_values_are_case_insensitive_and_columns_in_any_order():
    ingest_text("subscription,os,kind,name,resource_id\nprod,Linux,VM,one,vm:1\n")
    assert Resource.objects.get().os == "linux"


def test_bad_row_after_two_thousand_good_ones_stores_nothing():
    rows = "".join(f"vm:{i},vm{i},vm,linux,prod\n" for i in range(2500))
    with pytest.raises(RejectedFile, match="line 2502: kind 'server'"):
        ingest_text(f"{HEADER}\n{rows}vm:x,x,server,linux,prod\n")
    assert Resource.objects.count() == 0
    assert Subscription.objects.count() == 0


MALFORMED = [
    ("unknown column", f"{HEADER},colour\nvm:1,a,vm,linux,prod,red\n", "unknown column(s) 'colour'"),
    ("missing column", "resource_id,name,kind\nvm:1,a,vm\n", "missing required column(s): subscription"),
    ("duplicate column", f"{HEADER},name\nvm:1,a,vm,linux,prod,b\n", "name appear more than once"),
    ("bad kind", f"{HEADER}\nvm:1,a,mainframe,linux,prod\n", "line 2: kind 'mainframe' is not one of vm"),
    ("bad os", f"{HEADER}\nvm:1,a,vm,beos,prod\n", "line 2: os 'beos' is not one of linux, windows"),
    ("machine without os", f"{HEADER}\nvm:1,a,vm,,prod\n", "line 2: os is required for a vm"),
    ("bad agent", f"{HEADER},agent\nvm:1,a,vm,linux,prod,maybe\n", "line 2: agent 'maybe' is not one of"),
    ("bad power", f"{HEADER},power_state\nvm:1,a,vm,linux,prod,on\n", "line 2: power_state 'on'"),
    (
        "bad time",
        f"{HEADER},agent,last_heartbeat\nvm:1,a,vm,linux,prod,installed,yesterday\n",
        "not an ISO 8601",
    ),
    (
        "naive time",
        f"{HEADER},agent,last_heartbeat\nvm:1,a,vm,linux,prod,installed,2026-11-27T10:00:00\n",
        "no UTC offset",
    ),
    (
        "agent details without the agent",
        f"{HEADER},workspace_id\nvm:1,a,vm,linux,prod,ws-1\n",
        "column(s) workspace_id describe the agent: add the agent column",
    ),
    ("bad tag", f"{HEADER},tags\nvm:1,a,vm,linux,prod,owner\n", "tag 'owner' is not key=value"),
    ("empty id", f"{HEADER}\n,a,vm,linux,prod\n", "line 2: resource_id is empty"),
    ("too many fields", f"{HEADER}\nvm:1,a,vm,linux,prod,extra\n", "line 2: expected 5 fields, found 6"),
    ("truncated row", f"{HEADER}\nvm:1,a,vm,linux,prod\nvm:2,b,vm", "line 3: expected 5 fields, found 3"),
    ("truncated quote", f'{HEADER}\nvm:1,"a,vm,linux,prod\n', "malformed CSV"),
    (
        "duplicate id",
        f"{HEADER}\nvm:1,a,vm,linux,prod\nVM:1,b,vm,linux,prod\n",
        "line 3: resource_id 'VM:1' appears twice",
    ),
    (
        "orphan instance",
        f"{HEADER},parent_id\nvmss:1/0,i,vmss_instance,linux,prod,vmss:1\n",
        "parent_id 'vmss:1' is not a known resource",
    ),
    ("instance without parent", f"{HEADER}\nvmss:1/0,i,vmss_instance,linux,prod\n", "parent_id is required"),
    (
        "parent not a scale set",
        f"{HEADER},parent_id\nvm:1,a,vm,linux,prod,\nvm:2,b,vmss_instance,linux,prod,vm:1\n",
        "is a vm, not a vmss",
    ),
    ("header only is fine but empty file is not", "", "the file is empty"),
]


@pytest.mark.parametrize(("case", "text", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_inventory_is_rejected_and_changes_nothing(case, text, message):
    ingest_file(ESTATE)
    before = database_state()
    with pytest.raises(RejectedFile) as error:
        ingest_text(text)
    assert message in error.value.message
    assert "\n" not in error.value.message
    assert database_state() == before


def test_binary_garbage_is_rejected_as_not_utf8(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"resource_id,name\n\xff\xfe\x00\x81garbage")
    result = ingest_file(path, file_format="inventory")
    assert result.status == "rejected"
    assert result.error is not None
    assert "not UTF-8" in result.error


def test_zero_byte_file_is_rejected(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = ingest_file(path)
    assert (result.status, result.error) == ("rejected", "the file is empty")


def test_missing_file_is_rejected_with_the_os_reason(tmp_path):
    result = ingest_file(tmp_path / "nope.csv")
    assert result.status == "rejected"
    assert result.error == "cannot read the file: No such file or directory"
