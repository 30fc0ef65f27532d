"""AWS and GCP inventories (`aws ec2 describe-instances`, `aws ssm describe-instance-information`,
`gcloud compute instances list --format=json`): detected by content, machines in their accounts and
projects, one identity per machine across sources.

Samples (tests/fixtures/cloud/README.md has the details):
- aws-ec2-describe-instances.json, aws-ec2-ssm-filter.{ec2,ssm}.json, aws-ssm-managed-instance.json:
  genuine EC2 / SSM responses recorded by cloud-custodian (placebo), repository cloud-custodian/
  cloud-custodian, tests/data/placebo/{test_ec2_set_md_access,test_ec2_ssm_filter,
  test_ssm_get_managed_instances}/, commit df800e9e94d0860e0d8fbfebd9bc5b9b2d50367d, Apache-2.0;
  unwrapped from placebo's envelope, its datetime objects written as AWS CLI v2 prints times.
- aws-ssm-cli-example.json: aws/aws-cli awscli/examples/ssm/describe-instance-information.rst, commit
  089513776ec02f9ca1401a31d70c71881a72e5db, Apache-2.0 (its `...` line removed).
- gcp-aggregated-instances.json: a genuine Compute API aggregatedList recorded by cloud-custodian,
  tools/c7n_gcp/tests/data/flights/instance-query/, same commit; gcloud-compute-instances-list.json
  is DERIVED from it (its instances as the array gcloud prints).
"""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_files, ingest_stream
from posture.errors import RejectedFile, UnknownSubscription
from posture.importers.detect import detect_format
from posture.models import Resource, ResourceIdentifier, ResourceSighting, Subscription
from posture.scope import scope_for
from recommendations.models import Assessment, Finding, Scan
from recommendations.source_selectors import machine_sources
from scoring.engine import compute_score
from tests.db_state import database_state
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

CLOUD = Path(__file__).resolve().parent.parent / "fixtures" / "cloud"
EC2 = CLOUD / "aws-ec2-describe-instances.json"
PAIR_EC2 = CLOUD / "aws-ec2-ssm-filter.ec2.json"
PAIR_SSM = CLOUD / "aws-ec2-ssm-filter.ssm.json"
GCLOUD = CLOUD / "gcloud-compute-instances-list.json"
GCP_API = CLOUD / "gcp-aggregated-instances.json"
ACCOUNT = "644160558196"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (EC2, "aws-ec2"),
        (PAIR_SSM, "aws-ssm"),
        (CLOUD / "aws-ssm-cli-example.json", "aws-ssm"),
        (GCLOUD, "gcp-compute"),
        (GCP_API, "gcp-compute"),
    ],
)
def test_each_cloud_output_is_detected_by_its_content(path: Path, expected: str) -> None:
    assert detect_format(path.read_bytes()[:8192]) == expected


def test_ec2_instances_become_machines_of_their_account() -> None:
    result = ingest_file(EC2)
    assert result.status == "imported", result.error
    assert result.format == "aws-ec2"
    assert result.counts == {
        "resources_created": 4,
        "resources_changed": 0,
        "resources_unchanged": 0,
        "scopes_created": 1,
    }
    account = Subscription.objects.get(external_id=ACCOUNT)
    assert (account.name, account.cloud, account.qualified_id) == (ACCOUNT, "aws", f"aws:{ACCOUNT}")
    workstation = Resource.objects.get(name="devopsbot-workstation")
    assert workstation.resource_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-02357547fb91718be"
    assert (workstation.kind, workstation.os, workstation.power_state) == (
        "arc_machine",
        "windows",
        "stopped",
    )
    assert workstation.subscription == account
    assert workstation.tags["Team"] == "CICD"
    details = workstation.cloud_details["aws ec2 describe-instances"]
    assert details["availability_zone"] == "us-east-1f"
    assert details["platform_details"] == "Windows"
    # Two instances of one auto-scaling group share their Name tag: two machines all the same.
    assert Resource.objects.filter(name="keyc-Envi-RMB7RVXA37P6", os="linux").count() == 2
    assert set(ResourceIdentifier.objects.filter(resource=workstation).values_list("kind", "value")) == {
        ("ec2_instance_id", "i-02357547fb91718be"),
        ("arn", workstation.resource_id),
        ("host_name", "ip-172-31-69-54.ec2.internal"),
        ("host_name", "ip-172-31-69-54"),
    }
    # Listed machines get their statuses: Not applicable until evidence arrives.
    config = Assessment.objects.get(resource=workstation, recommendation__key="machine-config-vulns")
    assert config.status == "not_applicable"


def test_importing_the_same_inventory_again_changes_nothing() -> None:
    ingest_files([EC2, GCLOUD])
    before = database_state()
    again = ingest_file(EC2)
    assert again.counts["resources_unchanged"] == 4
    # gcloud's array and the API's aggregated list are the same four instances.
    same = ingest_file(GCP_API)
    assert same.counts == {
        "resources_created": 0,
        "resources_changed": 0,
        "resources_unchanged": 4,
        "scopes_created": 0,
    }
    assert database_state() == before


def test_gcloud_instances_become_machines_of_their_project() -> None:
    result = ingest_file(GCLOUD)
    assert result.status == "imported", result.error
    project = Subscription.objects.get(external_id="cloud-custodian")
    assert project.cloud == "gcp"
    machines = Resource.objects.filter(subscription=project)
    assert machines.count() == 4
    assert set(machines.values_list("os", flat=True)) == {"linux"}  # Ubuntu licenses
    assert set(machines.values_list("power_state", flat=True)) == {"running", "stopped"}
    one = machines.get(name="custodian-dev")
    assert one.resource_id.startswith("//compute.googleapis.com/projects/cloud-custodian/zones/")
    details = one.cloud_details["gcloud compute instances list"]
    assert details["licenses"][0].startswith("ubuntu-")
    assert ResourceIdentifier.objects.filter(resource=one, kind="gce_instance_id").exists()


def test_ssm_reports_managed_state_on_the_instance_ec2_listed() -> None:
    ingest_file(PAIR_EC2)
    result = ingest_file(PAIR_SSM)
    assert result.counts == {
        "resources_created": 0,
        "resources_changed": 2,
        "resources_unchanged": 0,
        "scopes_created": 0,
    }
    machine = Resource.objects.get(resource_id__endswith="instance/i-0ba3874e85bb97244")
    ssm = machine.cloud_details["aws ssm describe-instance-information"]
    assert (ssm["ping_status"], ssm["agent_version"], ssm["platform_type"]) == (
        "Online",
        "2.3.274.0",
        "Linux",
    )
    assert ssm["computer_name"] == "ip-172-31-10-93"
    assert set(machine.sightings.values_list("source", flat=True)) == {
        "aws ec2 describe-instances",
        "aws ssm describe-instance-information",
    }


def test_ssm_first_then_ec2_lands_on_the_same_machine() -> None:
    ssm = ingest_file(PAIR_SSM)
    assert ssm.counts["resources_discovered"] == 2
    first = Resource.objects.get(name="ip-172-31-10-93")
    assert first.subscription.name == "Discovered"
    assert first.discovered_from == "aws ssm describe-instance-information"
    ec2 = ingest_file(PAIR_EC2)
    assert ec2.counts["resources_moved_from_discovered"] == 2
    assert Resource.objects.count() == 2
    first.refresh_from_db()
    assert first.subscription.external_id == ACCOUNT
    assert first.name == "kapil-ssm-dev"
    assert first.discovered_from == ""
    assert "aws ssm describe-instance-information" in first.cloud_details


def test_machine_a_scan_found_first_moves_into_its_account_with_its_history() -> None:
    scan = xccdf_result(
        host="ip-172-31-10-93",
        fqdn="ip-172-31-10-93.us-east-2.compute.internal",
        results={"a": "fail", "b": "pass"},
        when=datetime(2026, 11, 1, tzinfo=UTC),
    )
    ingest_stream(io.BytesIO(scan), file_format="scap")
    found = Resource.objects.get()
    assert found.subscription.name == "Discovered"
    result = ingest_file(PAIR_EC2)
    assert result.counts["resources_moved_from_discovered"] == 1
    assert result.counts["resources_created"] == 1
    found.refresh_from_db()
    assert found.subscription.external_id == ACCOUNT
    assert found.resource_id == f"arn:aws:ec2:us-east-2:{ACCOUNT}:instance/i-0ba3874e85bb97244"
    assert Scan.objects.get().resource == found
    assert Finding.objects.filter(resource=found, state="open").count() == 1
    assessment = Assessment.objects.get(resource=found, recommendation__key="machine-config-vulns")
    assert assessment.status == "unhealthy"
    # The machine now counts in its account's score, not in Discovered's.
    account = compute_score(scope_for(f"aws:{ACCOUNT}"))
    assert [s.weight for s in account.subscriptions] == [1]
    assert not Resource.objects.filter(subscription__name="Discovered").exists()
    assert ResourceSighting.objects.filter(resource=found, source="aws ec2 describe-instances").exists()


def test_cloud_qualified_ids_select_accounts_and_projects() -> None:
    ingest_files([EC2, GCLOUD])
    assert scope_for(f"aws:{ACCOUNT}").label == ACCOUNT
    assert scope_for(ACCOUNT).label == ACCOUNT
    assert scope_for("gcp:cloud-custodian").label == "cloud-custodian"
    Subscription.objects.filter(external_id=ACCOUNT).update(name="Payments (AWS)")
    assert scope_for(f"aws:{ACCOUNT}").label == "Payments (AWS)"
    with pytest.raises(UnknownSubscription, match="no subscription named or with id 'gcp:644160558196'"):
        scope_for(f"gcp:{ACCOUNT}")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"Reservations": {}}', "expected an object with a 'Reservations' list"),
        (
            b'{"Reservations": [{"OwnerId": "12", "Instances": []}]}',
            "reservation 1: OwnerId '12' is not a 12-digit AWS account id",
        ),
        (
            b'{"Reservations": [{"OwnerId": "123456789012", "Instances": [{"InstanceId": "i-0abcdef12",'
            b' "Placement": {"AvailabilityZone": "us-east-1a"}, "State": {"Name": "melting"}}]}]}',
            "State.Name 'melting' is not an EC2 instance state",
        ),
    ],
)
def test_bad_ec2_output_is_rejected_and_changes_nothing(document: bytes, message: str) -> None:
    ingest_file(GCLOUD)
    before = database_state()
    with pytest.raises(RejectedFile, match=message):
        ingest_stream(io.BytesIO(document), file_format="aws-ec2")
    assert database_state() == before


def test_a_truncated_gcloud_list_is_rejected_whole() -> None:
    text = GCLOUD.read_bytes()
    with pytest.raises(RejectedFile, match="not valid JSON"):
        ingest_stream(io.BytesIO(text[: len(text) // 2]), file_format="gcp-compute")
    assert not Resource.objects.exists()


def test_terminated_instances_are_counted_not_listed() -> None:
    document = EC2.read_text().replace('"Name": "stopped"', '"Name": "terminated"', 1)
    result = ingest_stream(io.BytesIO(document.encode()), file_format="aws-ec2")
    assert result["skipped_terminated"] == 1
    assert result["resources_created"] == 3


def test_a_scan_names_an_ec2_machine_by_its_private_dns_name() -> None:
    ingest_file(PAIR_EC2)
    scan = xccdf_result(
        host="ip-172-31-11-50",
        results={"a": "fail"},
        when=datetime(2026, 11, 2, tzinfo=UTC),
    )
    ingest_stream(io.BytesIO(scan), file_format="scap")
    machine = Resource.objects.get(resource_id__endswith="instance/i-0dea82d960d56dc1d")
    assert machine.name == "kapil-ssm-dev"
    assert Scan.objects.get().resource == machine
    assert not Resource.objects.filter(subscription__name="Discovered").exists()
    # By when each named it: the scan ran (2026-11-02) before the inventory was imported.
    sources = [row.source for row in machine_sources(machine)]
    assert sources == ["OpenSCAP scan (XCCDF)", "aws ec2 describe-instances"]


def test_defenders_multicloud_id_lands_on_the_ec2_machine() -> None:
    """defender-multicloud.derived.json is DERIVED (tests/fixtures/cloud/README.md): a Defender export
    of the genuine instance above, under its multicloud resource id with its ARN as native id."""
    ingest_file(PAIR_EC2)
    machines = Resource.objects.count()
    result = ingest_file(CLOUD / "defender-multicloud.derived.json")
    assert result.status == "imported", result.error
    assert result.counts["resources_created"] == 0
    assert Resource.objects.count() == machines
    machine = Resource.objects.get(resource_id__endswith="i-0ba3874e85bb97244")
    config = Assessment.objects.get(resource=machine, recommendation__key="machine-config-vulns")
    assert (config.status, config.source) == ("unhealthy", "defender_export")
    assert machine.identifiers.filter(kind="defender_id").exists()
    # Without its native id, the instance id in Defender's id still names the machine.
    document = json.loads((CLOUD / "defender-multicloud.derived.json").read_text())
    del document["data"][0]["properties"]["resourceDetails"]["NativeResourceId"]
    document["data"][0]["properties"]["status"]["code"] = "Healthy"
    ingest_stream(io.BytesIO(json.dumps(document).encode()), file_format="defender")
    config.refresh_from_db()
    assert config.status == "healthy"
    assert Resource.objects.count() == machines
