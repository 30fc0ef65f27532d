"""The OS-configuration overview, the rule page and the baseline, on scans ingested as uploads are.

The estate (subscriptions A and B):
- web-1 (A, Linux): ssh fails (high), dmesg fails (medium), shadow passes, audit errors, telnet N/A;
- web-2 (A, Linux): dmesg failed a week ago and passes now (resolved); ssh and shadow fail;
- win-1 (A, Windows): blank-password rule fails (critical), lock-screen camera passes;
- db-1 (A, Linux): never scanned; k8s (A): a cluster, not a machine;
- api-1 (B, Linux): ssh fails, dmesg passes.
"""

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from posture.models import Subscription
from recommendations.catalog.baselines import PUBLISHED_BENCHMARK_IDS
from recommendations.models import Benchmark, Rule
from tests.factories import make_resource, make_subscription, make_user
from tests.scans import RHEL9, T0, XSS, baseline_row, scan_baseline, scan_xccdf

pytestmark = pytest.mark.django_db

SSH, DMESG, SHADOW, AUDIT, TELNET = (
    "sshd_disable_root_login",
    "sysctl_kernel_dmesg_restrict",
    "file_permissions_etc_shadow",
    "audit_rules_login_events",
    "package_telnet_removed",
)
CCES = {
    SSH: "CCE-80001-1",
    DMESG: "CCE-80002-2",
    SHADOW: "CCE-80003-3",
    AUDIT: "CCE-80004-4",
    TELNET: "CCE-80005-5",
}
SEVERITIES = {SSH: "high", DMESG: "medium", SHADOW: "medium", AUDIT: "low", TELNET: "low"}
TITLES = {SSH: "Disable SSH root login", DMESG: "Restrict dmesg", SHADOW: "Permissions on /etc/shadow"}
BLANK_PASSWORDS, CAMERA = "CCE-37615-2", "CCE-38347-1"


@pytest.fixture(autouse=True)
def _only_the_estates_rules() -> None:
    """These tests count the estate's rules one by one: the published baselines' 459 rules, loaded with
    the catalog, are left out (tests/recommendations/test_baseline_page.py covers the page with them)."""
    Rule.objects.filter(benchmark__benchmark_id__in=PUBLISHED_BENCHMARK_IDS).delete()


@pytest.fixture
def user_client(client: Client) -> Client:
    client.force_login(make_user())
    return client


def linux_scan(host: str, results: dict[str, str], **options) -> None:
    """A scan with the test benchmark's five rules, those not named left out of the profile."""
    every_rule = dict.fromkeys(CCES, "notselected") | results
    scan_xccdf(host, every_rule, cces=CCES, severities=SEVERITIES, titles=TITLES, **options)


def estate() -> tuple[Subscription, Subscription]:
    a, b = make_subscription("A"), make_subscription("B")
    for name, os in (("web-1", "linux"), ("web-2", "linux"), ("win-1", "windows"), ("db-1", "linux")):
        make_resource(a, name=name, os=os)
    make_resource(a, name="k8s", kind="k8s_cluster", os="")
    make_resource(b, name="api-1", os="linux")
    linux_scan("web-2", {DMESG: "fail"}, when=T0)
    linux_scan("web-1", {SSH: "fail", DMESG: "fail", SHADOW: "pass", AUDIT: "error", TELNET: "notapplicable"})
    linux_scan("web-2", {SSH: "fail", DMESG: "pass", SHADOW: "fail", AUDIT: "pass", TELNET: "pass"})
    linux_scan("api-1", {SSH: "fail", DMESG: "pass"})
    scan_baseline(
        [
            baseline_row("win-1", BLANK_PASSWORDS, "Failed", Description="Limit blank passwords"),
            baseline_row(
                "win-1", CAMERA, "Passed", RuleSeverity="Warning", Description="Prevent lock screen camera"
            ),
        ]
    )
    return a, b


def rule(key: str) -> Rule:
    return Rule.objects.get(key=key)


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def table_rows(response) -> list[tuple[str, int]]:
    return [(row.rule.key, row.rule.machines) for row in response.context["rows"]]


def assert_links_answer_200(client: Client, page: str) -> None:
    for href in links(client.get(page).content.decode()):
        href = href.split("#")[0] or page
        if href.startswith("?"):
            href = urlsplit(page).path + href
        if href.startswith(("/static/", "/admin/", "/accounts/")):
            continue
        assert client.get(href).status_code == 200, href


# The overview


def test_overview_headline_counts_open_findings_and_machines_in_scope(user_client: Client):
    estate()
    for query, failed, machines in (("", 6, 4), ("?subscription=A", 5, 3), ("?subscription=B", 1, 1)):
        response = user_client.get(f"/os-configuration/{query}")
        assert response.status_code == 200
        html = response.content.decode()
        headline = re.search(r'id="failed-count"[^>]*>(\d+)</a>', html)
        affected = re.search(r'id="affected-machines"[^>]*>(\d+)</a>', html)
        assert headline is not None
        assert affected is not None
        assert (int(headline.group(1)), int(affected.group(1))) == (failed, machines), query
        assert "Machines in scope have failed" in html


def test_overview_tiles_by_os_severity_and_rule_type(user_client: Client):
    estate()
    context = user_client.get("/os-configuration/").context

    def tiles(name: str) -> dict[str, tuple[int, int]]:
        return {tile.value: (tile.tally.failed, tile.tally.machines) for tile in context[name]}

    assert tiles("os_tiles") == {"linux": (5, 3), "windows": (1, 1)}
    assert tiles("severity_tiles") == {
        "critical": (1, 1),
        "high": (3, 3),
        "medium": (2, 2),
        "low": (0, 0),
        "info": (0, 0),
        "unknown": (0, 0),
    }
    assert tiles("rule_type_tiles") == {
        "SSH": (3, 3),
        "Kernel parameters": (1, 1),
        "File permissions": (1, 1),
        "Registry": (1, 1),
    }


def test_every_tile_links_to_a_table_whose_machines_add_up_to_it(user_client: Client):
    estate()
    response = user_client.get("/os-configuration/?subscription=A")
    tiles = [*response.context["os_tiles"], *response.context["severity_tiles"]]
    tiles += response.context["rule_type_tiles"]
    html = response.content.decode()
    for tile in tiles:
        href = f"/os-configuration/?{tile.query.urlencode()}"
        assert f'href="{href.replace("&", "&amp;")}#failed-rules"' in html
        listed = user_client.get(href)
        assert listed.context["scope"].label == "A"
        assert sum(machines for _, machines in table_rows(listed)) == tile.tally.failed, href


def test_failed_rules_table_rows_counts_and_state(user_client: Client):
    estate()
    response = user_client.get("/os-configuration/")
    assert table_rows(response) == [
        (BLANK_PASSWORDS, 1),
        (CCES[SSH], 3),
        (CCES[SHADOW], 1),
        (CCES[DMESG], 1),
    ]
    passing = {row.rule.key: row.passing for row in response.context["rows"]}
    assert passing == {BLANK_PASSWORDS: 0, CCES[SSH]: 0, CCES[SHADOW]: 1, CCES[DMESG]: 2}
    html = response.content.decode()
    ssh = rule(CCES[SSH])
    assert f'href="/rules/{ssh.pk}/?tab=failing#machines">3</a>' in html
    dmesg = rule(CCES[DMESG])
    assert f'href="/rules/{dmesg.pk}/?tab=passing#machines">2 passing</a>' in html
    assert "Disable SSH root login</a>" in html
    assert "<td>SSH</td>" in html


def test_machines_failing_links_to_exactly_those_machines(user_client: Client):
    estate()
    for scope in ("", "A", "B"):
        response = user_client.get(f"/os-configuration/?subscription={scope}")
        for key, machines in table_rows(response):
            query = f"subscription={scope}&" if scope else ""
            page = user_client.get(f"/rules/{rule(key).pk}/?{query}tab=failing")
            assert page.context["page_obj"].paginator.count == machines, (scope, key)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("os=windows", [BLANK_PASSWORDS]),
        ("os=linux&severity=medium", [CCES[SHADOW], CCES[DMESG]]),
        ("severity=critical", [BLANK_PASSWORDS]),
        ("severity=low", []),
        ("rule_type=SSH", [CCES[SSH]]),
        ("rule_type=Registry&subscription=B", []),
        ("q=cce-80002", [CCES[DMESG]]),
        ("q=dmesg_restrict", [CCES[DMESG]]),
        ("q=SHADOW", [CCES[SHADOW]]),
        ("q=%20root%20login%20", [CCES[SSH]]),
        ("subscription=B", [CCES[SSH]]),
    ],
)
def test_overview_filters_and_search(user_client: Client, query: str, expected: list[str]):
    estate()
    response = user_client.get(f"/os-configuration/?{query}")
    assert response.status_code == 200
    assert [key for key, _ in table_rows(response)] == expected


def test_benchmark_filter(user_client: Client):
    estate()
    windows = Benchmark.objects.get(benchmark_id="microsoft-security-baseline-windows")
    response = user_client.get(f"/os-configuration/?benchmark={windows.pk}")
    assert [key for key, _ in table_rows(response)] == [BLANK_PASSWORDS]
    assert f'<option value="{windows.pk}" selected>' in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-machines", [CCES[SSH], CCES[SHADOW], CCES[DMESG], BLANK_PASSWORDS]),
        ("machines", [BLANK_PASSWORDS, CCES[DMESG], CCES[SHADOW], CCES[SSH]]),
        ("key", [BLANK_PASSWORDS, CCES[SSH], CCES[DMESG], CCES[SHADOW]]),
        ("title", [CCES[SSH], BLANK_PASSWORDS, CCES[SHADOW], CCES[DMESG]]),
        ("severity", [CCES[DMESG], CCES[SHADOW], CCES[SSH], BLANK_PASSWORDS]),
        ("-rule_type", [CCES[SSH], BLANK_PASSWORDS, CCES[DMESG], CCES[SHADOW]]),
        ("nonsense", [BLANK_PASSWORDS, CCES[SSH], CCES[SHADOW], CCES[DMESG]]),
    ],
)
def test_overview_sorting(user_client: Client, sort: str, expected: list[str]):
    estate()
    response = user_client.get(f"/os-configuration/?sort={sort}")
    assert [key for key, _ in table_rows(response)] == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("os=beos", "Unknown OS &#x27;beos&#x27;"),
        ("severity=dire", "Unknown severity &#x27;dire&#x27;"),
        ("rule_type=Nope", "Unknown rule type &#x27;Nope&#x27;"),
        ("benchmark=abc", "Benchmark must be a number"),
        ("benchmark=999999", "There is no benchmark 999999"),
        ("q=a%00b", "A search cannot contain a NUL character"),
    ],
)
@pytest.mark.parametrize("page", ["/os-configuration/", "/baseline/"])
def test_a_bad_filter_is_a_400_with_a_message(user_client: Client, page: str, query: str, message: str):
    estate()
    response = user_client.get(f"{page}?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Invalid filter" in html
    assert message in html


@pytest.mark.parametrize("page", ["/os-configuration/", "/baseline/", "/rules/{pk}/"])
def test_unknown_subscription_is_a_404(user_client: Client, page: str):
    estate()
    response = user_client.get(page.format(pk=rule(CCES[SSH]).pk) + "?subscription=nowhere")
    assert response.status_code == 404
    assert "Unknown subscription" in response.content.decode()


def many_failed_rules(count: int, host: str = "web-1") -> None:
    names = {f"sysctl_rule_{i:03d}": "fail" for i in range(count)}
    scan_xccdf(host, names, cces={name: f"CCE-9{i:04d}-1" for i, name in enumerate(names)})


def test_overview_pages_by_fifty_and_page_links_keep_filters(user_client: Client):
    make_resource(make_subscription("A"), name="web-1")
    many_failed_rules(60)
    query = "subscription=A&rule_type=Kernel+parameters&sort=key"
    response = user_client.get(f"/os-configuration/?{query}")
    assert len(response.context["rows"]) == 50
    next_link = next(href for href in links(response.content.decode()) if "page=2" in href)
    assert parse_qs(urlsplit(next_link).query) == {**parse_qs(query), "page": ["2"]}
    second = user_client.get(f"/os-configuration/{next_link}")
    assert table_rows(second)[0] == ("CCE-90050-1", 1)
    assert len(second.context["rows"]) == 10


def test_overview_queries_do_not_grow_with_rows(user_client: Client):
    estate()

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get("/os-configuration/").status_code == 200
        return len(context.captured_queries)

    before = queries()
    many_failed_rules(40, host="web-2")
    many_failed_rules(40, host="api-1")
    assert queries() == before


def test_scan_text_is_escaped_everywhere(user_client: Client):
    make_subscription("A")
    scan_xccdf(XSS, {SSH: "fail"}, titles={SSH: XSS}, cces=CCES)
    scan_baseline([baseline_row(XSS, BLANK_PASSWORDS, "Failed", ActualResult=XSS, RuleSetting=XSS)])
    ssh, blank = rule(CCES[SSH]), rule(BLANK_PASSWORDS)
    pages = ["/os-configuration/", "/baseline/", f"/rules/{ssh.pk}/", f"/rules/{blank.pk}/"]
    pages += [f"/resources/{finding.resource_id}/" for finding in blank.findings.all()]
    pages += [f"/resources/{finding.resource_id}/" for finding in ssh.findings.all()]
    for page in pages:
        html = user_client.get(page).content.decode()
        assert "<svg" not in html, page
        assert "&lt;svg onload=alert(1)&gt;" in html, page


# The rule page


TAB_ORDER = ("failing", "passing", "resolved", "not_evaluated", "not_applicable", "never_scanned")


def tab_counts(response) -> dict[str, int]:
    """The counts of the rule page's tabs, and of the resolved part of passing."""
    shown = {key: count for key, _, count in response.context["tabs"]}
    return shown | {"resolved": response.context["counts"]["resolved"]}


def counts(*numbers: int) -> dict[str, int]:
    return dict(zip(TAB_ORDER, numbers, strict=True))


def test_rule_page_counts_machines_by_state_in_scope(user_client: Client):
    estate()
    dmesg = rule(CCES[DMESG]).pk
    expected = {
        "": counts(1, 2, 1, 0, 0, 1),
        "A": counts(1, 1, 1, 0, 0, 1),
        "B": counts(0, 1, 0, 0, 0, 0),
    }
    for scope, numbers in expected.items():
        response = user_client.get(f"/rules/{dmesg}/?subscription={scope}")
        assert tab_counts(response) == numbers, scope
    audit = user_client.get(f"/rules/{rule(CCES[AUDIT]).pk}/")
    assert tab_counts(audit) == counts(0, 1, 0, 1, 0, 2)
    telnet = user_client.get(f"/rules/{rule(CCES[TELNET]).pk}/")
    assert tab_counts(telnet) == counts(0, 1, 0, 0, 1, 2)


@pytest.mark.parametrize(
    ("tab", "machines"),
    [
        ("failing", ["web-1"]),
        ("passing", ["api-1", "web-2"]),
        ("resolved", ["web-2"]),
        ("not_evaluated", []),
        ("never_scanned", ["db-1"]),
        ("made-up", ["web-1"]),
    ],
)
def test_rule_page_tabs_list_their_machines(user_client: Client, tab: str, machines: list[str]):
    estate()
    response = user_client.get(f"/rules/{rule(CCES[DMESG]).pk}/?tab={tab}")
    names = [getattr(row, "resource", row).name for row in response.context["page_obj"]]
    assert names == machines


def test_rule_page_lists_failing_machines_with_evidence_and_links(user_client: Client):
    estate()
    ssh = rule(CCES[SSH])
    response = user_client.get(f"/rules/{ssh.pk}/?subscription=A")
    html = response.content.decode()
    assert [f.resource.name for f in response.context["page_obj"]] == ["web-1", "web-2"]
    web1 = next(f for f in response.context["page_obj"] if f.resource.name == "web-1")
    assert f'href="/resources/{web1.resource_id}/?subscription=A">web-1</a>' in html
    assert "2026-11-08 08:00" in html  # first seen, last seen and scan time of the T1 scan
    for text in ("Disable SSH root login", "Checks sshd_disable_root_login.", "Because.", "High severity"):
        assert text in html, text
    assert "Guide to the Secure Configuration of Test Linux 1.0</a>" in html
    assert (
        '<pre class="fix"><code class="language-bash">echo fix sshd_disable_root_login</code></pre>' in html
    )


def test_rule_page_passing_tab_shows_resolved_and_passed(user_client: Client):
    estate()
    response = user_client.get(f"/rules/{rule(CCES[DMESG]).pk}/?tab=passing")
    html = response.content.decode()
    assert [f.state for f in response.context["page_obj"]] == ["passed", "resolved"]
    assert "Resolved only (1)" in html
    assert '<span class="status status-resolved">Resolved</span>' in html


def test_real_rule_page_shows_references_remediation_and_the_actual_value(user_client: Client):
    from intake.pipeline import ingest_file

    assert ingest_file(RHEL9).status == "imported"
    crypto = rule("CCE-83450-7")
    response = user_client.get(f"/rules/{crypto.pk}/")
    html = response.content.decode()
    assert "Configure System Cryptography Policy" in html
    assert "Centralized cryptographic policies simplify" in html  # rationale
    assert "<dt>NIST SP 800-53</dt>" in html
    assert '<span class="tag">CM-6(a)</span>' in html
    assert '<code class="language-bash">var_system_crypto_policy=&#x27;DEFAULT&#x27;' in html
    assert '<code class="language-yaml">- name: XCCDF Value var_system_crypto_policy' in html
    assert "{{ var_system_crypto_policy }}" in html  # Ansible's braces are shown, not interpreted
    assert "The system-provided crypto policies: FIPS" in html
    assert "not found in /etc/crypto-policies/config; not found in /etc/crypto-policies/state/current" in html


def test_rule_page_sorts_and_pages_machines(user_client: Client):
    make_subscription("A")
    rows = [baseline_row(f"win-{i:02d}", BLANK_PASSWORDS, "Failed", ActualResult=str(i)) for i in range(60)]
    scan_baseline(rows)
    blank = rule(BLANK_PASSWORDS).pk
    first = user_client.get(f"/rules/{blank}/?sort=-name")
    assert first.context["page_obj"].paginator.count == 60
    assert [f.resource.name for f in first.context["page_obj"]][:2] == ["win-59", "win-58"]
    second = user_client.get(f"/rules/{blank}/?sort=-name&page=2")
    assert len(second.context["page_obj"]) == 10
    by_actual = user_client.get(f"/rules/{blank}/?sort=actual")
    assert [f.actual for f in by_actual.context["page_obj"]][:3] == ["0", "1", "10"]


def test_rule_page_queries_do_not_grow_with_machines(user_client: Client):
    estate()
    sub = Subscription.objects.get(name="A")
    make_resource(sub, name="passes", os="linux")
    linux_scan("passes", {SSH: "pass"})  # no tab is empty (an empty page needs no query for its rows)
    ssh = rule(CCES[SSH]).pk

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            for tab in ("failing", "passing", "never_scanned"):
                assert user_client.get(f"/rules/{ssh}/?tab={tab}").status_code == 200
        return len(context.captured_queries)

    before = queries()
    for i in range(20):
        host = f"extra-{i}"
        make_resource(sub, name=host, os="linux")
        make_resource(sub, name=f"idle-{i}", os="linux")
        linux_scan(host, {SSH: "fail" if i % 2 else "pass"})
    assert queries() == before


def test_unknown_rule_is_a_404(user_client: Client):
    assert user_client.get("/rules/999999/").status_code == 404


# The baseline


def baseline_counts(response) -> dict[str, tuple[int, int, int]]:
    return {
        row.rule.key: (row.counts.failing, row.counts.passing, row.counts.never_scanned)
        for row in response.context["rows"]
    }


def test_baseline_lists_the_whole_catalog_with_counts_in_scope(user_client: Client):
    estate()
    assert baseline_counts(user_client.get("/baseline/")) == {
        BLANK_PASSWORDS: (1, 0, 0),
        CAMERA: (0, 1, 0),
        CCES[SSH]: (3, 0, 1),
        CCES[DMESG]: (1, 2, 1),
        CCES[SHADOW]: (1, 1, 2),
        CCES[AUDIT]: (0, 1, 2),
        CCES[TELNET]: (0, 1, 2),
    }
    assert baseline_counts(user_client.get("/baseline/?subscription=B")) == {
        BLANK_PASSWORDS: (0, 0, 0),
        CAMERA: (0, 0, 0),
        CCES[SSH]: (1, 0, 0),
        CCES[DMESG]: (0, 1, 0),
        CCES[SHADOW]: (0, 0, 1),
        CCES[AUDIT]: (0, 0, 1),
        CCES[TELNET]: (0, 0, 1),
    }


def test_baseline_counts_agree_with_the_rule_pages(user_client: Client):
    estate()
    for scope in ("", "A", "B"):
        response = user_client.get(f"/baseline/?subscription={scope}")
        for row in response.context["rows"]:
            page = user_client.get(f"/rules/{row.rule.pk}/?subscription={scope}")
            shown = tab_counts(page)
            found = (shown["failing"], shown["passing"], shown["never_scanned"])
            assert found == (row.counts.failing, row.counts.passing, row.counts.never_scanned)


def test_a_rule_without_an_os_counts_every_machine_as_reachable(user_client: Client):
    estate()
    scan_xccdf("web-1", {"custom_check": "fail"}, bare=True, cces={"custom_check": "CCE-80009-9"})
    custom = rule("CCE-80009-9")
    assert custom.os == ""
    response = user_client.get("/baseline/?subscription=A&os=unknown")
    # web-2, win-1 and db-1 of A; the cluster is not a machine.
    assert baseline_counts(response) == {"CCE-80009-9": (1, 0, 3)}
    page = user_client.get(f"/rules/{custom.pk}/?subscription=A&tab=never_scanned")
    assert [r.name for r in page.context["page_obj"]] == ["db-1", "web-2", "win-1"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("os=windows", [BLANK_PASSWORDS, CAMERA]),
        ("severity=low", [CCES[AUDIT], CCES[TELNET]]),
        ("rule_type=Packages", [CCES[TELNET]]),
        ("q=camera", [CAMERA]),
        ("q=telnet_removed", [CCES[TELNET]]),
        ("sort=-severity&os=linux", [CCES[SSH], CCES[SHADOW], CCES[DMESG], CCES[TELNET], CCES[AUDIT]]),
        ("sort=-key&severity=critical", [BLANK_PASSWORDS]),
        ("sort=title&os=linux", [CCES[SSH], CCES[SHADOW], CCES[DMESG], CCES[AUDIT], CCES[TELNET]]),
    ],
)
def test_baseline_filters_search_and_sorting(user_client: Client, query: str, expected: list[str]):
    estate()
    response = user_client.get(f"/baseline/?{query}")
    assert [row.rule.key for row in response.context["rows"]] == expected


def test_baseline_pages_by_fifty(user_client: Client):
    make_resource(make_subscription("A"), name="web-1")
    many_failed_rules(70)
    response = user_client.get("/baseline/?sort=-key")
    assert len(response.context["rows"]) == 50
    assert response.context["page_obj"].paginator.count == 70
    last = user_client.get("/baseline/?sort=-key&page=2")
    assert [row.rule.key for row in last.context["rows"]][-1] == "CCE-90000-1"


def test_baseline_queries_do_not_grow_with_rules_or_machines(user_client: Client):
    estate()

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert user_client.get("/baseline/").status_code == 200
        return len(context.captured_queries)

    before = queries()
    many_failed_rules(30, host="web-2")
    for i in range(10):
        make_resource(Subscription.objects.get(name="A"), name=f"idle-{i}", os="linux")
    assert queries() == before


def test_every_link_of_the_os_configuration_pages_answers_200(user_client: Client):
    estate()
    ssh, dmesg = rule(CCES[SSH]).pk, rule(CCES[DMESG]).pk
    for page in (
        "/os-configuration/?subscription=A",
        "/os-configuration/?severity=high",
        "/baseline/?subscription=A",
        f"/rules/{ssh}/?subscription=A",
        f"/rules/{dmesg}/?tab=passing",
        f"/rules/{dmesg}/?tab=never_scanned",
    ):
        assert_links_answer_200(user_client, page)


def test_pages_need_a_login(client: Client):
    estate()
    for page in ("/os-configuration/", "/baseline/", f"/rules/{rule(CCES[SSH]).pk}/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
