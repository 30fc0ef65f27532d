"""The resource page's OS configuration: failed rules, resolved and not-evaluated counts, scan history."""

import re
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from posture.models import Resource
from recommendations.models import Rule
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import T0, T1, XSS, baseline_row, scan_baseline, scan_xccdf

pytestmark = pytest.mark.django_db

RULES = ("sshd_disable_root_login", "sysctl_kernel_dmesg_restrict", "audit_rules_login", "package_telnet")
CCES = dict(zip(RULES, ("CCE-80001-1", "CCE-80002-2", "CCE-80004-4", "CCE-80005-5"), strict=True))
SEVERITIES = dict(zip(RULES, ("high", "medium", "low", "low"), strict=True))


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user())
    return client


def scan(host: str, when, **results: str) -> None:
    every_rule = dict.fromkeys(RULES, "notselected") | results
    scan_xccdf(host, every_rule, when=when, cces=CCES, severities=SEVERITIES, profile="profile_stig")


def scanned_machine() -> Resource:
    """Failed dmesg and ssh a week ago; now ssh still fails, dmesg passes, audit cannot be evaluated."""
    machine = make_resource(make_subscription("Production"), name="web-1", os="linux")
    scan(
        "web-1",
        T0,
        sshd_disable_root_login="fail",
        sysctl_kernel_dmesg_restrict="fail",
        package_telnet="notapplicable",
    )
    scan(
        "web-1",
        T1,
        sshd_disable_root_login="fail",
        sysctl_kernel_dmesg_restrict="pass",
        audit_rules_login="error",
        package_telnet="pass",
    )
    return machine


def tabs(html: str) -> dict[str, int]:
    found = re.findall(r'class="tab tab-finding-(\w+)".*?<span class="tab-count">(\d+)</span>', html, re.S)
    return {state: int(count) for state, count in found}


def test_resource_page_lists_the_failed_rules_with_evidence(user_client: Client):
    machine = scanned_machine()
    response = user_client.get(f"/resources/{machine.pk}/?subscription=Production")
    html = response.content.decode()
    assert [f.rule.key for f in response.context["findings"]] == ["CCE-80001-1"]
    ssh = Rule.objects.get(key="CCE-80001-1")
    assert f'href="/rules/{ssh.pk}/?subscription=Production">sshd disable root login</a>' in html
    assert '<td class="mono rule-key" title="CCE-80001-1">CCE-80001-1</td>' in html
    assert '<span class="severity severity-high">High</span>' in html
    assert "<td>SSH</td>" in html
    assert "2026-11-01 08:00" in html  # first seen: the first scan that failed it


def test_resolved_and_not_evaluated_are_counted_never_as_failed(user_client: Client):
    machine = scanned_machine()
    html = user_client.get(f"/resources/{machine.pk}/").content.decode()
    assert tabs(html) == {"open": 1, "resolved": 1, "not_evaluated": 1, "passed": 1, "not_applicable": 0}
    assert "Not evaluated" in html
    resolved = user_client.get(f"/resources/{machine.pk}/?state=resolved")
    assert [f.rule.key for f in resolved.context["findings"]] == ["CCE-80002-2"]
    assert "2026-11-08 08:00" in resolved.content.decode()  # resolved by the second scan
    not_evaluated = user_client.get(f"/resources/{machine.pk}/?state=not_evaluated")
    assert [f.rule.key for f in not_evaluated.context["findings"]] == ["CCE-80004-4"]
    assert "neither failed nor passed" in not_evaluated.content.decode()


def test_scan_history_shows_result_counts_and_findings_open_after_each_scan(user_client: Client):
    machine = scanned_machine()
    scan_baseline([baseline_row("web-1", "CCE-37615-2", "Failed", TimeGenerated="2026-11-09T00:00:00Z")])
    response = user_client.get(f"/resources/{machine.pk}/")
    rows = [
        (row.scan.scanned_at.isoformat(), row.scan.source_format, row.scan.result_counts, row.open_after)
        for row in response.context["scans"]
    ]
    assert rows == [
        ("2026-11-09T00:00:00+00:00", "securitybaseline", {"fail": 1}, 2),
        ("2026-11-08T08:00:00+00:00", "xccdf", {"error": 1, "fail": 1, "pass": 2}, 1),
        ("2026-11-01T08:00:00+00:00", "xccdf", {"fail": 2, "notapplicable": 1, "notselected": 1}, 2),
    ]
    html = response.content.decode()
    assert "Scan history" in html
    assert '<span class="tag result-fail">fail 1</span>' in html
    assert "Microsoft security baseline for Windows (Defender)" in html


def test_a_machine_never_scanned_says_so(user_client: Client):
    machine = make_resource(name="idle")
    html = user_client.get(f"/resources/{machine.pk}/").content.decode()
    assert "No OS configuration scan of this machine yet" in html
    assert 'href="/imports/"' in html
    cluster = make_resource(name="aks", kind="k8s_cluster", os="")
    assert "OS configuration rules" not in user_client.get(f"/resources/{cluster.pk}/").content.decode()


def test_machine_text_from_scans_is_escaped(user_client: Client):
    make_subscription("Production")
    scan_baseline([baseline_row(XSS, "CCE-37615-2", "Failed", ActualResult=XSS, Description=XSS)])
    machine = Resource.objects.get(name=XSS)
    html = user_client.get(f"/resources/{machine.pk}/").content.decode()
    assert "<svg" not in html
    assert html.count("&lt;svg onload=alert(1)&gt;") >= 3  # name, rule title, actual value


def test_resource_page_queries_do_not_grow_with_findings_or_scans(user_client: Client):
    machine = scanned_machine()

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get(f"/resources/{machine.pk}/").status_code == 200
        return len(context.captured_queries)

    before = queries()
    for day in range(2, 12):
        many = {f"sysctl_extra_{i}": "fail" for i in range(day * 3)}
        scan_xccdf("web-1", many, when=T1.replace(day=day + 10), profile=f"profile_{day}")
    assert queries() == before


def test_failed_rules_page_by_fifty(user_client: Client):
    machine = make_resource(name="web-1")
    scan_xccdf("web-1", {f"sysctl_extra_{i:03d}": "fail" for i in range(70)}, when=T1)
    first = user_client.get(f"/resources/{machine.pk}/")
    assert len(first.context["findings"]) == 50
    assert first.context["findings"].paginator.count == 70
    html = first.content.decode()
    assert 'href="?page=2"' in html
    second = user_client.get(f"/resources/{machine.pk}/?page=2")
    assert len(second.context["findings"]) == 20


def test_every_link_of_a_scanned_machine_page_answers_200(user_client: Client):
    machine = scanned_machine()
    for page in (
        f"/resources/{machine.pk}/?subscription=Production",
        f"/resources/{machine.pk}/?state=resolved",
    ):
        for href in re.findall(r'href="([^"]*)"', user_client.get(page).content.decode()):
            href = unescape(href).split("#")[0]
            if href.startswith(("/static/", "/admin/", "/accounts/")):
                continue
            if href.startswith("?"):
                href = page.split("?")[0] + href
            assert user_client.get(href).status_code == 200, href
