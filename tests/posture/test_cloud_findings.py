"""AWS Security Hub findings (ASFF) and Prowler's OCSF reports: stored once, matched to machines and
accounts, mapped findings as evidence for the machine's recommendations, the rest listed and counted.

Samples (tests/fixtures/cloud/README.md):
- securityhub-filter.asff.json + securityhub-filter.ec2.json, securityhub-account.asff.json: genuine
  GetFindings / DescribeInstances responses recorded by cloud-custodian (placebo), cloud-custodian/
  cloud-custodian tests/data/placebo/test_security_hub_instance_findings_filter/ and
  test_security_hub_account/, commit df800e9e94d0860e0d8fbfebd9bc5b9b2d50367d, Apache-2.0.
- prowler-example-{aws,azure,gcp}.ocsf.json: genuine, prowler-cloud/prowler examples/output/
  example_output_{aws,azure,gcp}.ocsf.json, commit 3e000faa3109230b748e4418a13c11c9e59f5cfb, Apache-2.0.
- securityhub-ssm1-cis.derived.asff.json and prowler-ec2-ssm.derived.ocsf.json are DERIVED from those
  (a consolidated SSM.1 control finding, an Inspector CIS host hardening finding, and Prowler's
  ec2_instance_managed_by_ssm, all FAILED on the genuine instance): no genuine public sample of these
  about an instance was found.
"""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake.pipeline import ingest_file, ingest_files, ingest_stream
from posture.errors import RejectedFile
from posture.importers.detect import detect_format
from posture.models import Resource
from posture.scope import scope_for
from recommendations.cloud_finding_selectors import scope_other_findings
from recommendations.models import Assessment, CloudFinding
from tests.db_state import database_state
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

CLOUD = Path(__file__).resolve().parent.parent / "fixtures" / "cloud"
EC2 = CLOUD / "securityhub-filter.ec2.json"
HUB = CLOUD / "securityhub-filter.asff.json"
ACCOUNT_FINDING = CLOUD / "securityhub-account.asff.json"
MAPPED_HUB = CLOUD / "securityhub-ssm1-cis.derived.asff.json"
MAPPED_PROWLER = CLOUD / "prowler-ec2-ssm.derived.ocsf.json"
PROWLER = [CLOUD / f"prowler-example-{cloud}.ocsf.json" for cloud in ("aws", "azure", "gcp")]
INSTANCE = "arn:aws:ec2:us-east-1:101010101111:instance/i-0f1c2ffaea36228b0"


@pytest.mark.parametrize(
    ("path", "expected"),
    [(HUB, "asff"), (ACCOUNT_FINDING, "asff"), (MAPPED_HUB, "asff"), *((p, "prowler-ocsf") for p in PROWLER)],
)
def test_findings_are_detected_by_content(path: Path, expected: str) -> None:
    assert detect_format(path.read_bytes()[:8192]) == expected


def machine() -> Resource:
    return Resource.objects.get(resource_id=INSTANCE)


def test_other_findings_are_stored_on_the_machine_and_the_account_not_scored() -> None:
    ingest_file(EC2)
    before = set(Assessment.objects.values_list("resource_id", "recommendation__key", "status"))
    result = ingest_file(HUB)
    assert result.status == "imported", result.error
    assert result.counts == {
        "findings_created": 1,
        "findings_changed": 0,
        "findings_unchanged": 0,
        "findings_mapped": 0,
        "findings_other": 1,
    }
    finding = CloudFinding.objects.get()
    assert (finding.tool, finding.check_id, finding.status) == ("securityhub", "ec2-tag-compliance", "failed")
    assert finding.resource == machine()
    assert finding.recommendation is None
    assert set(Assessment.objects.values_list("resource_id", "recommendation__key", "status")) == before
    account = ingest_file(ACCOUNT_FINDING)
    assert account.counts["findings_other"] == 1
    on_account = CloudFinding.objects.get(check_id="account-finding")
    assert on_account.resource is None
    assert on_account.subscription == machine().subscription
    listed = scope_other_findings(scope_for("aws:101010101111"))
    assert listed is not None
    assert {f.check_id for f in listed.shown} == {"ec2-tag-compliance", "account-finding"}


def test_mapped_findings_are_evidence_for_the_machines_recommendations() -> None:
    ingest_files([EC2, MAPPED_HUB])
    statuses = {
        a.recommendation.key: (a.status, a.source, a.reason)
        for a in Assessment.objects.filter(resource=machine()).select_related("recommendation")
    }
    status, source, reason = statuses["machine-config-vulns"]
    assert (status, source) == ("unhealthy", "cloud_findings")
    assert reason == (
        "1 failed OS configuration check (AWS Security Hub: arn:aws:inspector:us-east-1:316112463485:"
        "rulespackage/0-rExsr2X8)"
    )
    status, source, reason = statuses["arc-linux-agent-installed"]
    assert (status, source) == ("unhealthy", "cloud_findings")
    assert reason.startswith("Not managed by AWS Systems Manager (AWS Security Hub: SSM.1 failed)")
    prowler = ingest_file(MAPPED_PROWLER)
    assert prowler.counts["findings_mapped"] == 1
    agent = Assessment.objects.get(resource=machine(), recommendation__key="arc-linux-agent-installed")
    assert "AWS Security Hub, Prowler: SSM.1, ec2_instance_managed_by_ssm failed" in agent.reason


def test_a_scan_of_the_machine_wins_over_the_tools_status() -> None:
    ingest_files([EC2, MAPPED_HUB])
    scan = xccdf_result(host="vm", results={"a": "pass"}, when=datetime(2026, 11, 1, tzinfo=UTC))
    ingest_stream(io.BytesIO(scan), file_format="scap", resource_hint=INSTANCE)
    config = Assessment.objects.get(resource=machine(), recommendation__key="machine-config-vulns")
    assert (config.status, config.source) == ("healthy", "os_config_scan")
    # The same findings again change nothing: the scan's evidence stands.
    again = ingest_file(MAPPED_HUB)
    assert again.counts["findings_unchanged"] == 2
    config.refresh_from_db()
    assert config.source == "os_config_scan"


def test_a_finding_that_passes_later_takes_its_status_back() -> None:
    ingest_files([EC2, MAPPED_HUB])
    passed = json.loads(MAPPED_HUB.read_text())
    for finding in passed["Findings"]:
        finding["Compliance"]["Status"] = "PASSED"
    result = ingest_stream(io.BytesIO(json.dumps(passed).encode()), file_format="asff")
    assert result["findings_changed"] == 2
    statuses = dict(
        Assessment.objects.filter(resource=machine()).values_list("recommendation__key", "status")
    )
    # A passed CIS check is evidence of a healthy configuration; being managed by SSM says nothing of
    # Defender's agent, so the agent recommendation returns to "no data".
    assert statuses["machine-config-vulns"] == "healthy"
    assert statuses["arc-linux-agent-installed"] == "not_applicable"


def test_prowler_reports_of_three_clouds_import_and_again_change_nothing() -> None:
    results = ingest_files(PROWLER)
    assert [r.status for r in results] == ["imported"] * 3
    # Prowler's samples carry placeholders for accounts: no scope matches, every finding is kept.
    assert [r.counts["findings_unmatched"] for r in results] == [5, 5, 5]
    assert CloudFinding.objects.count() == 15
    assert set(CloudFinding.objects.values_list("cloud", flat=True)) == {"aws", "azure", "gcp"}
    before = database_state()
    count = CloudFinding.objects.count()
    again = ingest_files(PROWLER)
    assert [r.counts["findings_unchanged"] for r in again] == [5, 5, 5]
    assert CloudFinding.objects.count() == count
    assert database_state() == before


@pytest.mark.parametrize(
    ("document", "file_format", "message"),
    [
        (b'{"Findings": [{"SchemaVersion": "2017-01-01"}]}', "asff", "is not ASFF 2018-10-08"),
        (
            b'{"Findings": [{"SchemaVersion": "2018-10-08", "Id": "x", "AwsAccountId": "1"}]}',
            "asff",
            "'Resources'",
        ),
        (b'[{"class_uid": 2003}]', "prowler-ocsf", "is not a Detection Finding"),
        (b'{"findings": []}', "prowler-ocsf", "expected a JSON array"),
    ],
)
def test_bad_findings_are_rejected_and_change_nothing(
    document: bytes, file_format: str, message: str
) -> None:
    ingest_file(EC2)
    before = database_state()
    with pytest.raises(RejectedFile, match=message):
        ingest_stream(io.BytesIO(document), file_format=file_format)
    assert database_state() == before
    assert not CloudFinding.objects.exists()
