"""In Chromium: the mixed demo estate (Azure, AWS, GCP, on-premises) scored per scope and in total, an
AWS account chosen in the scope selector, a machine page naming its cloud, account and sources, and
the findings export naming each machine's cloud and account."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from intake.demo import load_demo
from posture.models import Resource
from posture.scope import scope_for
from scoring.engine import compute_score
from tests.factories import make_user

PASSWORD = "mixed-estate-password-1"
SHOTS = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"


@pytest.mark.browser
def test_mixed_estate_in_the_browser(live_server: LiveServer, browser_page: Page) -> None:
    load_demo()
    make_user("analyst", password=PASSWORD)
    aws = compute_score(scope_for("aws:111122223333"))
    total = compute_score()

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secure score")).to_be_visible()
    expect(page.locator(".score-percent")).to_have_text(f"{total.percentage * 100:.2f}%".replace(".00%", "%"))
    scopes = page.locator(".subscriptions-card table")
    for name, cloud in (
        ("Production", "Azure"),
        ("111122223333", "AWS"),
        ("analytics-prod-4821", "GCP"),
        ("Datacenter London", "—"),
    ):
        expect(scopes.get_by_role("row", name=name)).to_contain_text(cloud)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "mixed-dashboard.png"), full_page=True)

    page.get_by_label("Scope").select_option(label="111122223333")
    page.wait_for_url("**/?subscription=111122223333")
    expect(page.locator(".score-percent")).to_have_text(f"{aws.percentage * 100:.2f}%".replace(".00%", "%"))

    # The account's findings that count toward nothing here are listed, not scored.
    expect(page.locator("#other-findings")).to_contain_text("EC2.8")
    expect(page.locator("#other-findings")).to_contain_text("CloudTrail.1")
    page.screenshot(path=str(SHOTS / "mixed-aws-account.png"), full_page=True)

    page.get_by_role("link", name="Resources").click()
    expect(page.locator("table.data tbody tr")).to_have_count(5)
    expect(page.locator("table.data tbody")).to_contain_text("AWS")
    page.get_by_role("link", name="aws-api-01").click()
    expect(page.get_by_role("heading", name="aws-api-01")).to_be_visible()
    attributes = page.locator("dl.attributes").first
    expect(attributes).to_contain_text("AWS")
    expect(attributes).to_contain_text("Account")
    sources = page.locator("#machine-sources")
    for source in (
        "OpenSCAP scan (XCCDF)",
        "aws ec2 describe-instances",
        "aws ssm describe-instance-information",
    ):
        expect(sources).to_contain_text(source)
    expect(page.locator("main")).to_contain_text("ConnectionLost")
    page.screenshot(path=str(SHOTS / "mixed-machine.png"), full_page=True)
    page.go_back()
    page.get_by_role("link", name="aws-batch-01").click()
    findings = page.locator("#cloud-findings")
    expect(findings).to_contain_text("SSM.1")
    expect(findings).to_contain_text(
        "Log Analytics agent should be installed on your Linux-based Azure Arc machines"
    )
    page.screenshot(path=str(SHOTS / "mixed-cloud-findings.png"), full_page=True)

    # The export of a GCP project's findings, as the browser downloads it with the session.
    response = page.request.get(
        f"{live_server.url}/api/v1/findings/export.csv?severity=all&subscription=gcp:analytics-prod-4821"
    )
    assert response.ok
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert rows
    assert {(row["cloud"], row["scope id"]) for row in rows} == {("GCP", "analytics-prod-4821")}
    gcp_names = set(Resource.objects.filter(subscription__cloud="gcp").values_list("name", flat=True))
    assert {row["resource name"] for row in rows} <= gcp_names
