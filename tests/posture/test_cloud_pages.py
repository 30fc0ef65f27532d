"""The cloud of each machine and its account on the pages, the API, the score document and the findings
export, from genuine EC2 / SSM output (tests/fixtures/cloud/README.md: cloud-custodian's recorded
responses, commit df800e9e94d0860e0d8fbfebd9bc5b9b2d50367d, Apache-2.0) and a scan naming one machine."""

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client

from intake.pipeline import ingest_files, ingest_stream
from posture.models import Resource, Subscription
from tests.factories import make_user
from tests.scap_builder import xccdf_result

pytestmark = pytest.mark.django_db

CLOUD = Path(__file__).resolve().parent.parent / "fixtures" / "cloud"
ACCOUNT = "644160558196"


@pytest.fixture
def estate() -> Resource:
    scan = xccdf_result(
        host="ip-172-31-10-93",
        fqdn="ip-172-31-10-93.us-east-2.compute.internal",
        results={"a": "fail"},
        when=datetime(2026, 11, 1, tzinfo=UTC),
    )
    ingest_stream(io.BytesIO(scan), file_format="scap")
    ingest_files([CLOUD / "aws-ec2-ssm-filter.ec2.json", CLOUD / "aws-ec2-ssm-filter.ssm.json"])
    Subscription.objects.filter(external_id=ACCOUNT).update(name="Payments (AWS)")
    return Resource.objects.get(resource_id__endswith="i-0ba3874e85bb97244")


@pytest.fixture
def analyst(client: Client) -> Client:
    client.force_login(make_user("analyst"))
    return client


def test_machine_page_shows_cloud_account_sources_and_ssm_state(estate: Resource, analyst: Client) -> None:
    html = analyst.get(f"/resources/{estate.pk}/").content.decode()
    assert "<dt>Cloud</dt><dd>AWS</dd>" in html
    assert "<dt>Account</dt>" in html
    assert "Payments (AWS)" in html
    assert ACCOUNT in html
    sources = html[
        html.index('id="machine-sources"') : html.index("</table>", html.index('id="machine-sources"'))
    ]
    assert "OpenSCAP scan (XCCDF)" in sources
    assert "aws ec2 describe-instances" in sources
    assert "aws ssm describe-instance-information" in sources
    assert "<dt>Ping status</dt><dd>Online</dd>" in html


def test_scope_selector_groups_accounts_and_selects_them_by_qualified_id(
    estate: Resource, analyst: Client
) -> None:
    html = analyst.get("/", {"subscription": f"aws:{ACCOUNT}"}).content.decode()
    select = html[html.index('<select id="scope-select"') : html.index("</select>")]
    assert '<optgroup label="AWS accounts">' in select
    # The account chosen by its qualified id is the one selected.
    assert '<option value="Payments (AWS)" selected>Payments (AWS)</option>' in select
    resources = analyst.get("/api/v1/resources/", {"subscription": f"aws:{ACCOUNT}"}).json()["results"]
    assert {(r["name"], r["cloud"], r["subscription_native_id"]) for r in resources} == {
        ("kapil-ssm-dev", "AWS", ACCOUNT)
    }
    score = analyst.get("/api/v1/score/").json()
    account = next(s for s in score["subscriptions"] if s["name"] == "Payments (AWS)")
    assert (account["cloud"], account["id"]) == ("aws", ACCOUNT)


def test_findings_export_names_each_machines_cloud_and_account(estate: Resource, analyst: Client) -> None:
    response = analyst.get("/api/v1/findings/export.csv", {"severity": "all"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert rows
    assert {(r["resource name"], r["subscription"], r["cloud"], r["scope id"]) for r in rows} == {
        ("kapil-ssm-dev", "Payments (AWS)", "AWS", ACCOUNT)
    }


def test_machine_and_account_pages_list_cloud_findings(analyst: Client) -> None:
    """Genuine Security Hub findings (cloud-custodian's recorded GetFindings, see the fixtures' README)
    and a DERIVED SSM.1 / CIS pair (securityhub-ssm1-cis.derived.asff.json)."""
    ingest_files(
        [
            CLOUD / "securityhub-filter.ec2.json",
            CLOUD / "securityhub-filter.asff.json",
            CLOUD / "securityhub-account.asff.json",
            CLOUD / "securityhub-ssm1-cis.derived.asff.json",
        ]
    )
    machine = Resource.objects.get(resource_id__endswith="i-0f1c2ffaea36228b0")
    html = analyst.get(f"/resources/{machine.pk}/").content.decode()
    table = html[
        html.index('id="cloud-findings"') : html.index("</table>", html.index('id="cloud-findings"'))
    ]
    assert "SSM.1" in table
    assert "Vulnerabilities in security configuration on your machines should be remediated" in table
    assert "ec2-tag-compliance" in table
    assert "Other finding (not scored)" in table
    assert "AWS Security Hub findings" in html  # among the machine's sources
    account = analyst.get("/", {"subscription": "aws:101010101111"}).content.decode()
    other = account[
        account.index('id="other-findings"') : account.index("</table>", account.index('id="other-findings"'))
    ]
    assert "account-finding" in other
    assert "ec2-tag-compliance" in other
    assert "SSM.1" not in other  # evidence for a recommendation, not an "other" finding


def test_text_from_cloud_tools_is_escaped_on_the_pages(analyst: Client) -> None:
    """A hostile Name tag, SSM computer name and finding title (DERIVED from the genuine samples) show as
    text, never as markup."""
    hostile = "<svg onload=alert(1)>"
    ec2 = json.loads((CLOUD / "securityhub-filter.ec2.json").read_text())
    instance = ec2["Reservations"][0]["Instances"][0]
    instance["Tags"] = [{"Key": "Name", "Value": hostile}, {"Key": hostile, "Value": hostile}]
    ingest_stream(io.BytesIO(json.dumps(ec2).encode()), file_format="aws-ec2")
    findings = json.loads((CLOUD / "securityhub-filter.asff.json").read_text())
    findings["Findings"][0]["Title"] = hostile
    findings["Findings"][0]["GeneratorId"] = hostile
    ingest_stream(io.BytesIO(json.dumps(findings).encode()), file_format="asff")
    machine = Resource.objects.get(resource_id__endswith="i-0f1c2ffaea36228b0")
    for url in (f"/resources/{machine.pk}/", "/?subscription=aws:101010101111", "/resources/"):
        html = analyst.get(url).content.decode()
        assert hostile not in html, url
        assert "&lt;svg onload=alert(1)&gt;" in html, url
