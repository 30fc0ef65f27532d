"""In Chromium: the Baseline page lists the published rules before any scan; its filters narrow them;
a Windows rule and a Linux rule drill down to what is expected, where to set it, and the machines."""

import csv
import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from intake.pipeline import ingest_file
from recommendations.catalog.baselines import BASELINES, WINDOWS
from tests.factories import make_resource, make_user

PASSWORD = "baseline-password-1"
# Defender SecurityBaseline rows for dc-lon-07 (see tests/fixtures/securitybaseline).
CSV = Path(__file__).resolve().parents[1] / "fixtures" / "securitybaseline" / "dc-lon-07.csv"
SECTION = "Security Options - Accounts"


def log_in(page: Page, url: str) -> None:
    make_user("viewer", password=PASSWORD)
    page.goto(f"{url}/baseline/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Baseline")).to_be_visible()


@pytest.mark.browser
def test_filters_and_a_windows_and_a_linux_rule_drill_down(live_server: LiveServer, browser_page: Page):
    machine = make_resource(name="dc-lon-07", kind="arc_machine", os="windows")
    assert ingest_file(CSV).status == "imported"
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server.url)

    # Before any filter: the whole catalog, published rules included (459 at least).
    total = int(
        page.locator(".pagination .range").inner_text().rsplit(" of ", 1)[1].split()[0].replace(",", "")
    )
    assert total >= 459

    # Filters: OS version, server type and section together.
    windows = json.loads(BASELINES[WINDOWS][0].read_text())["rules"]
    expected = sorted(
        r["id"]
        for r in windows
        if "WS2012R2" in r["os"] and "Domain Controller" in r["server_type"] and r["section"] == SECTION
    )
    page.get_by_label("OS version").select_option("WS2012R2")
    page.get_by_label("Server type").select_option("Domain Controller")
    page.get_by_label("Section").select_option(SECTION)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(
        f"{live_server.url}/baseline/?os=&severity=&rule_type=&benchmark=&q="
        "&os_version=WS2012R2&server_type=Domain+Controller&section=Security+Options+-+Accounts"
    )
    keys = page.locator("table.data tbody td.rule-key").all_inner_texts()
    assert expected
    assert keys == expected
    page.screenshot(path="/tmp/posture-baseline.png", full_page=True)

    # The filtered list as a checklist.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [row[0] for row in rows[1:]] == expected

    # A Windows rule, found by its key path, with the machine failing it.
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Search").fill("LimitBlankPasswordUse")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.data tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("a.count.unhealthy")).to_have_text("1")
    row.get_by_role(
        "link", name="Accounts: Limit local account use of blank passwords to console logon only"
    ).click()
    details = page.locator("dl.attributes")
    expect(details).to_contain_text("Doesn't exist or = 1")
    expect(details.locator("dd.gp-path")).to_contain_text(
        "Local Policies\\Security Options\\Accounts: Limit local"
    )
    expect(details.locator("dd.gp-value")).to_have_text("Enabled")
    expect(details.locator("dd.key-path")).to_have_text(
        "SYSTEM\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse"
    )
    expect(page.locator("dl.references")).to_contain_text("V-73621 (WS2016)")
    failing = page.locator("#machines table.data tbody tr")
    expect(failing).to_have_count(1)
    expect(failing).to_contain_text(machine.name)
    expect(failing.locator("td.actual")).to_have_text("0")
    page.screenshot(path="/tmp/posture-baseline-rule.png", full_page=True)

    # A Linux rule: its expected value and Azure's remediation, no machine scanned for it yet.
    page.goto(f"{live_server.url}/baseline/?os=linux&q=accept_redirects")
    page.get_by_role("link", name="38.4", exact=True).click()
    expect(page.locator("dl.attributes")).to_contain_text("net.ipv4.conf.default.accept_redirects = 0")
    expect(page.locator("dl.attributes")).to_contain_text("General security controls")
    expect(page.get_by_role("heading", name="Remediation").locator("..")).to_contain_text(
        "omsremediate -r disable-accept-redirects"
    )
    expect(page.locator(".tab-failing .tab-count")).to_have_text("0")
