"""The Windows quick fix: a PowerShell script from the published baseline's facts for failed Windows rules,
and no bundle for the other platform. Findings come from the SecurityBaseline portal CSV fixture
(tests/fixtures/securitybaseline/dc-lon-07.csv); the rules are the shipped published baseline."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from intake.pipeline import ingest_file
from recommendations.models import Finding, Rule
from recommendations.quick_fix_windows import quoted, windows_step
from tests.factories import make_resource, make_user
from tests.scans import scan_xccdf

pytestmark = pytest.mark.django_db

AUDIT_BOTH = (
    "Set-PostureAudit '{0CCE923F-69AE-11D9-BED3-505054503030}' @('/success:enable', '/failure:enable')"
)
INACTIVITY = (
    "Set-PostureRegistry 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' "
    "'InactivityTimeoutSecs' 900 'DWord'"
)
CSV = Path(__file__).resolve().parents[1] / "fixtures" / "securitybaseline" / "dc-lon-07.csv"


@pytest.fixture
def windows(client: Client) -> list[Finding]:
    make_resource(name="dc-lon-07", kind="arc_machine", os="windows")
    assert ingest_file(CSV).status == "imported"
    client.force_login(make_user())
    return list(Finding.objects.filter(state="open").order_by("rule__key"))


def download(client: Client, kind: str, findings: list[Finding]):
    return client.post(reverse(f"quick-fix-{kind}"), {"finding": [f.pk for f in findings]})


def test_failed_windows_rules_make_a_powershell_script_commented_with_ids_and_gp_paths(client, windows):
    response = download(client, "powershell", windows)
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.ps1"')
    script = response.content.decode()
    assert script.splitlines()[0].startswith("# Posture quick fix (PowerShell) for 3 rules on 1 machine")
    assert "#Requires -RunAsAdministrator" in script
    assert "if (Test-PostureHost @('dc-lon-07')) {" in script
    blank = script.index("    # CCE-37615-2: Accounts: Limit local account use of blank passwords")
    gp = "    # Group Policy: Computer Configuration\\Policies\\Windows Settings\\Security Settings\\Local"
    assert script[blank:].splitlines()[1].startswith(gp)
    lsa = "'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa' 'LimitBlankPasswordUse' 1 'DWord'"
    assert f"Set-PostureRegistry {lsa}" in script
    rpc = "'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Rpc' 'EnableAuthEpResolution' 1 'DWord'"
    assert f"Set-PostureRegistry {rpc}" in script
    # Outside the published baseline (lock screen camera): listed, not guessed.
    manual = script[script.index("# MANUAL STEPS: 1 rule.") :]
    assert "#   CCE-38347-1: Prevent enabling lock screen camera" in manual
    assert "not a rule of the published Windows baseline" in manual


@pytest.mark.parametrize(
    ("key", "command"),
    [
        ("AZ-WIN-00026", "Set-PostureAudit '{0CCE9249-69AE-11D9-BED3-505054503030}' @('/success:enable')"),
        ("CCE-37741-6", AUDIT_BOTH),
        ("AZ-WIN-73755", "Set-PostureSecurityPolicy 'Privilege Rights' 'SeDebugPrivilege' '*S-1-5-32-544'"),
        ("CCE-36861-3", "Set-PostureSecurityPolicy 'Privilege Rights' 'SeCreateTokenPrivilege' ''"),
        ("CCE-10024-8", "Set-PostureSecurityPolicy 'System Access' 'LSAAnonymousNameLookup' '0'"),
        ("AZ-WIN-73645", INACTIVITY),  # "In 1-900": the upper bound
    ],
)  # fmt: skip
def test_registry_audit_and_security_policy_through_their_standard_tools(key, command):
    assert windows_step(Rule.objects.get(key=key)).command == command


@pytest.mark.parametrize(
    ("key", "domain", "reason"),
    [
        (
            "CCE-36534-6",
            True,
            "domain accounts take it from the domain's password policy",
        ),  # MinimumPasswordLength
        ("CCE-37490-0", True, "a per-user setting"),
        ("CCE-10976-9", False, "needs your organisation's choice"),  # rename the administrator account
        ("AZ-WIN-202245", False, "Secured-core"),
        ("AZ-WIN-202253", False, "needs your organisation's choice"),  # a logon notice's text
    ],
)
def test_what_a_machine_cannot_set_for_itself_is_listed_with_why(key, domain, reason):
    step = windows_step(Rule.objects.get(key=key))
    assert (step.command, step.domain) == ("", domain)
    assert reason in step.reason


def test_no_bundle_offers_a_script_for_the_other_platform(client, windows):
    assert download(client, "bash", windows).status_code == 400
    assert download(client, "ansible", windows).status_code == 400
    scan_xccdf("web-1", {"sshd_disable_root_login": "fail"})
    linux = Finding.objects.filter(state="open", resource__name="web-1")
    response = download(client, "powershell", list(linux))
    assert response.status_code == 400
    assert "for Windows rules" in response.content.decode()
    machine = windows[0].resource
    page = client.get(f"/resources/{machine.pk}/?state=open").content.decode()
    assert "Quick fix: PowerShell script" in page
    assert "Quick fix: bash script" not in page
    linux_page = client.get(f"/resources/{linux[0].resource_id}/?state=open").content.decode()
    assert "Quick fix: bash script" in linux_page
    assert "PowerShell" not in linux_page


def test_scan_text_stays_inside_single_quotes():
    assert quoted("dc'; Remove-Item C:\\ -Recurse; '") == "'dc''; Remove-Item C:\\ -Recurse; '''"
    assert quoted("a\nb$(x)") == "'a b$(x)'"
