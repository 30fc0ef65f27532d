"""Microsoft's published Azure compute security baselines ship in the catalog and load with it.

The files under recommendations/catalog/ are the project's copies of ../shared/catalog's, facts
transcribed from MicrosoftDocs/azure-docs (articles/governance/policy/samples/
guest-configuration-baseline-windows.md at 0147a273, -linux.md at 361ea68e; see azure-baselines.md).
"""

import io
import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command

from intake.pipeline import ingest_file, ingest_stream
from recommendations.catalog.baselines import BASELINES, LINUX, WINDOWS
from recommendations.models import Benchmark, Finding, Rule
from scoring.catalog import load_catalog
from tests.factories import make_resource, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "catalog"
CSV = ROOT / "tests" / "fixtures" / "securitybaseline" / "dc-lon-07.csv"


def test_a_fresh_database_lists_every_published_rule_before_any_scan():
    assert Rule.objects.filter(benchmark__benchmark_id=WINDOWS).count() == 285
    assert Rule.objects.filter(benchmark__benchmark_id=LINUX).count() == 174
    windows = Benchmark.objects.get(benchmark_id=WINDOWS)
    assert (windows.version, windows.os) == ("2023-02-14", "windows")
    assert Benchmark.objects.get(benchmark_id=LINUX).version == "2022-09-21"


def test_a_windows_rule_carries_its_group_policy_and_mappings():
    rule = Rule.objects.get(key="CCE-37615-2")
    assert rule.cce == "CCE-37615-2"
    assert rule.group_policy_path.endswith(
        "Security Options\\Accounts: Limit local account use of blank passwords to console logon only"
    )
    assert rule.group_policy_value == "Enabled"
    assert rule.key_path == "SYSTEM\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse"
    assert rule.expected == "Doesn't exist or = 1"
    assert rule.severity == "critical"
    assert "WS2008R2" in rule.os_version_list
    assert rule.server_type_list == ["Domain Controller", "Domain Member", "Workgroup Member"]
    assert {"source": "CIS Benchmark", "ref": "2.3.1.4 (WS2019)"} in rule.references
    assert {"source": "DISA STIG", "ref": "V-73621 (WS2016)"} in rule.references


def test_ids_are_kept_verbatim_even_where_normalising_would_collide():
    # AZ_WIN_202250 (Hardened UNC Paths - NETLOGON) and AZ-WIN-202250 (boot DMA protection) are two rules.
    assert Rule.objects.get(key="AZ_WIN_202250").title != Rule.objects.get(key="AZ-WIN-202250").title
    assert Rule.objects.get(key="CCE-36169-1a").cce == ""  # not a CCE as written


def test_a_linux_rule_says_its_expected_value_when_the_source_does():
    sysctl = Rule.objects.get(key="38.4")
    assert (sysctl.os, sysctl.severity, sysctl.rule_type) == ("linux", "unknown", "Kernel parameters")
    assert sysctl.expected == "net.ipv4.conf.default.accept_redirects = 0"
    assert "omsremediate -r disable-accept-redirects" in sysctl.fix_text
    assert Rule.objects.get(key="106.1").expected == "Protocol 2 in /etc/ssh/sshd_config"


def test_reloading_changes_nothing_and_prints_the_baselines():
    fields = ("key", "title", "expected", "group_policy_path", "references")
    before = list(Rule.objects.order_by("key").values_list(*fields))
    out = io.StringIO()
    call_command("load_catalog", stdout=out)
    assert "baseline azure-baseline-windows 2023-02-14: 285 rules" in out.getvalue()
    assert "baseline azure-baseline-linux 2022-09-21: 174 rules" in out.getvalue()
    assert list(Rule.objects.order_by("key").values_list(*fields)) == before


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside this checkout")
@pytest.mark.parametrize("benchmark_id", [WINDOWS, LINUX])
def test_the_shipped_files_are_the_shared_reference(benchmark_id):
    path = BASELINES[benchmark_id][0]
    assert json.loads(path.read_text()) == json.loads((SHARED / path.name).read_text())


def export(*rows: tuple[str, str, str, str]) -> bytes:
    """SecurityBaseline rows as Log Analytics returns them (rows derived for the test, not a real export)."""
    return json.dumps(
        [
            {
                "TimeGenerated": "2026-11-27T06:02:11Z",
                "Computer": "web-01",
                "OSName": "Windows Server 2019 Datacenter",
                "BaselineType": "WindowsOS",
                "BaselineRuleType": "Registry Key",
                "CceId": cce,
                "Description": description,
                "RuleSeverity": "Critical",
                "ExpectedResult": "1",
                "ActualResult": actual,
                "AnalyzeResult": result,
            }
            for cce, description, actual, result in rows
        ]
    ).encode()


def test_a_securitybaseline_rule_met_before_the_catalog_becomes_the_published_one():
    make_resource(name="web-01", kind="vm", os="windows")
    Rule.objects.filter(benchmark__benchmark_id=WINDOWS, key="CCE-37346-4").delete()
    counts = ingest_stream(
        io.BytesIO(export(("CCE-37346-4", "Enable RPC Endpoint Mapper", "0", "Failed"))),
        file_format="securitybaseline",
    )
    assert (counts["rules_in_baseline"], counts["rules_outside_baseline"]) == (0, 1)
    assert Rule.objects.get(key="CCE-37346-4").group_policy_path == ""
    load_catalog()
    rule = Rule.objects.get(key="CCE-37346-4")
    assert rule.benchmark is not None
    assert rule.benchmark.benchmark_id == WINDOWS
    assert rule.group_policy_path.endswith("Enable RPC Endpoint Mapper Client Authentication")
    # The machine's finding stays on the rule, with the scan's actual value.
    assert Finding.objects.get(rule=rule).actual == "0"
    again = ingest_stream(
        io.BytesIO(export(("CCE-37346-4", "something else", "1", "Passed"))), file_format="securitybaseline"
    )
    assert (again["rules_in_baseline"], again["rules_outside_baseline"]) == (1, 0)
    assert Rule.objects.get(key="CCE-37346-4").title == "Enable RPC Endpoint Mapper Client Authentication"


def test_a_failed_windows_rule_shows_where_to_set_it_beside_the_actual_value(client):
    """The portal CSV fixture (tests/fixtures/securitybaseline/dc-lon-07.csv) on the machine's page."""
    machine = make_resource(name="dc-lon-07", kind="arc_machine", os="windows")
    assert ingest_file(CSV).status == "imported"
    client.force_login(make_user())
    html = unescape(client.get(f"/resources/{machine.pk}/?state=open").content.decode())
    row = next(r for r in html.split("<tr>") if "CCE-37615-2" in r)
    assert "Computer Configuration\\Policies\\Windows Settings\\Security Settings\\Local Policies" in row
    assert "Enabled" in row  # the Group Policy value
    assert "SYSTEM\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse" in row
    assert "CIS 2.3.1.4 (WS2019)" in row
    assert "STIG V-73621 (WS2016)" in row
    assert "Doesn't exist or = 1" in row  # the baseline's expected value, beside the export's "1"
    assert re.search(r'<td class="value actual">0\s*</td>', row)
    # A rule outside the published baseline shows what the export said, and no baseline facts.
    camera = next(r for r in html.split("<tr>") if "CCE-38347-1" in r)
    assert "Group Policy" not in camera


def test_the_rule_page_shows_the_published_facts(client):
    client.force_login(make_user())
    rule = Rule.objects.get(key="AZ-WIN-00026")
    html = unescape(client.get(f"/rules/{rule.pk}/").content.decode())
    assert "Audit Policies\\Logon/Logoff\\Audit Group Membership" in html
    assert "include Success" in html  # the Group Policy value
    assert "{0CCE9249-69AE-11D9-BED3-505054503030}" in html
    assert ">= Success" in html
    assert "System Audit Policies - Logon-Logoff" in html
    assert "Workgroup Member" in html
