"""Quick fix bundles: the bash script and the Ansible playbook built from the benchmark's fix content for
the failed rules selected on a rule's page or a machine's page; valid, grouped by machine, with manual steps
at the top, proof against hostile names and titles from the scan file, and scoped to what the user sees."""

import os
import shlex
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from audit.models import AuditEvent
from governance.models import Assignment, Team
from governance.roles import Role
from governance.towers import refresh_tower_summaries
from intake.pipeline import ingest_file
from posture.models import Resource
from recommendations.models import Finding, FindingState, Rule
from recommendations.quick_fix import HEREDOC_END
from tests.factories import make_assessment, make_recommendation, make_resource, make_user
from tests.scans import RHEL9, scan_xccdf

pytestmark = pytest.mark.django_db

CRYPTO, KERBEROS, NO_FIX = "CCE-83450-7", "CCE-83449-9", "CCE-90125-6"
SSH, DMESG = "sshd_disable_root_login", "sysctl_kernel_dmesg_restrict"
CCES = {SSH: "CCE-80001-1", DMESG: "CCE-80002-2"}
TITLES = {SSH: "Disable SSH root login", DMESG: "Restrict dmesg"}
PASSWORD = "quick-fix-password-2"
TASKS = "- name: Apply the setting\n  ansible.builtin.command: /bin/true\n"


def download(client: Client, kind: str, findings: list[Finding]) -> Any:
    return client.post(reverse(f"quick-fix-{kind}"), {"finding": [finding.pk for finding in findings]})


def open_finding(resource: str, key: str) -> Finding:
    return Finding.objects.get(resource__name=resource, rule__key=key, state=FindingState.OPEN)


def bash_syntax_error(script: str, tmp_path: Path) -> str:
    path = tmp_path / "bundle.sh"
    path.write_text(script)
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    return checked.stderr if checked.returncode else ""


def plays_of(playbook: str) -> list[dict[str, Any]]:
    plays = yaml.safe_load(playbook)
    assert isinstance(plays, list)
    for play in plays:
        assert play["hosts"]
        assert all(isinstance(host, str) for host in play["hosts"])
        assert play["tasks"]
        assert all(isinstance(task, dict) for task in play["tasks"])
    return plays


def before_the_fixes(script: str) -> str:
    return script.split('case "$POSTURE_HOST" in')[0]


def analyst_client(client: Client) -> Client:
    client.force_login(make_user())
    return client


# The real RHEL 9 STIG scan: two real failed rules with bash and Ansible fixes, one without any fix.


@pytest.fixture
def rhel9() -> list[Finding]:
    resource = make_resource(name="web-01")
    result = ingest_file(RHEL9, resource=resource.resource_id)
    assert result.status == "imported", result.error
    return [open_finding("web-01", key) for key in (CRYPTO, KERBEROS, NO_FIX)]


def test_real_rules_make_a_valid_bash_script_with_the_manual_step_first(client, rhel9, tmp_path):
    response = download(analyst_client(client), "bash", rhel9)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/x-shellscript; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="posture-quick-fix-')
    assert response["Content-Disposition"].endswith('.sh"')
    script = response.content.decode()
    assert bash_syntax_error(script, tmp_path) == ""
    head = before_the_fixes(script)
    assert f"# [1] {NO_FIX}: " in head
    assert CRYPTO not in head
    assert KERBEROS not in head
    # One machine, one section guarded by the names it answers to (the scan says "vm").
    assert "\n# Group 1: web-01 (vm)\nvm|web-01)\n" in script
    crypto = Rule.objects.get(key=CRYPTO)
    assert (
        f"    # {CRYPTO}: {crypto.title}\n    # Rule id: {crypto.rule_id}\n    # CCE ID: {CRYPTO}\n" in script
    )
    assert crypto.fix_bash.strip() in script
    # Fixes in the order of their keys.
    assert script.index(KERBEROS + ":", len(head)) < script.index(CRYPTO + ":", len(head))
    event = AuditEvent.objects.get(action="export")
    assert event.summary == "downloaded the bash quick fix for 3 rules on 1 machine"
    assert event.after is not None
    assert event.after["rules"] == sorted([CRYPTO, KERBEROS, NO_FIX])
    # Every failed rule of the scan at once: still valid.
    every = download(client, "bash", list(Finding.objects.filter(state=FindingState.OPEN)))
    assert bash_syntax_error(every.content.decode(), tmp_path) == ""


def test_real_rules_make_an_ansible_playbook_of_plays_with_hosts_and_named_tasks(client, rhel9):
    response = download(analyst_client(client), "ansible", rhel9)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-yaml; charset=utf-8"
    assert response["Content-Disposition"].endswith('.yml"')
    playbook = response.content.decode()
    (play,) = plays_of(playbook)
    assert play["hosts"] == ["vm"]
    assert play["become"] is True
    names = [task["name"] for task in play["tasks"]]
    assert all(CRYPTO in name or KERBEROS in name for name in names)
    assert f"Configure System Cryptography Policy ({CRYPTO})" in names
    # The benchmark's tasks are kept as they are, XCCDF values substituted at import included.
    policy = next(task for task in play["tasks"] if "set_fact" in task and CRYPTO in task["name"])
    assert policy["set_fact"] == {"var_system_crypto_policy": "DEFAULT"}
    comments = playbook.split("\n- name:")[0]
    assert f"# [1] {NO_FIX}: " in comments
    assert "Machines: web-01 (vm)" in comments
    every = download(client, "ansible", list(Finding.objects.filter(state=FindingState.OPEN)))
    (play,) = plays_of(every.content.decode())
    assert len(play["tasks"]) > 39


# Grouping, with small scans whose rules get an Ansible fix.


@pytest.fixture
def fleet() -> None:
    for host, results in (
        ("a-1", {SSH: "fail", DMESG: "pass"}),
        ("b-1", {SSH: "fail", DMESG: "fail"}),
        ("c-1", {SSH: "fail", DMESG: "pass"}),
    ):
        scan_xccdf(host, results, cces=CCES, titles=TITLES)
    Rule.objects.update(fix_ansible=TASKS)


def test_one_rule_on_many_machines_is_one_section_and_one_play(client, fleet, tmp_path):
    selected = [open_finding(host, CCES[SSH]) for host in ("c-1", "a-1", "b-1")]
    client = analyst_client(client)
    script = download(client, "bash", selected).content.decode()
    assert bash_syntax_error(script, tmp_path) == ""
    assert "\n# Group 1: a-1, b-1, c-1\na-1|b-1|c-1)\n" in script
    assert "# Group 2" not in script
    assert "MANUAL STEPS: none" in script
    (play,) = plays_of(download(client, "ansible", selected).content.decode())
    assert play["hosts"] == ["a-1", "b-1", "c-1"]
    assert [task["name"] for task in play["tasks"]] == [
        f"Disable SSH root login ({CCES[SSH]}): Apply the setting"
    ]


def test_many_rules_on_one_machine_and_machines_needing_other_fixes_apart(client, fleet, tmp_path):
    selected = [
        open_finding("b-1", CCES[SSH]),
        open_finding("b-1", CCES[DMESG]),
        open_finding("a-1", CCES[SSH]),
    ]
    client = analyst_client(client)
    script = download(client, "bash", selected).content.decode()
    assert bash_syntax_error(script, tmp_path) == ""
    first, second = script.split("\n# Group 1: a-1\na-1)\n")[1].split("\n# Group 2: b-1\nb-1)\n")
    assert CCES[SSH] in first
    assert CCES[DMESG] not in first
    assert second.index(CCES[SSH]) < second.index(CCES[DMESG])
    plays = plays_of(download(client, "ansible", selected).content.decode())
    assert [(play["hosts"], len(play["tasks"])) for play in plays] == [(["a-1"], 1), (["b-1"], 2)]
    assert CCES[DMESG] in plays[1]["tasks"][1]["name"]


def test_an_ansible_fix_that_does_not_parse_or_runs_elsewhere_is_a_manual_step(client, fleet):
    Rule.objects.filter(key=CCES[SSH]).update(fix_ansible="- name: broken\n  command: [unclosed\n")
    Rule.objects.filter(key=CCES[DMESG]).update(fix_ansible="- command: rm -rf /\n  delegate_to: localhost\n")
    selected = [open_finding("b-1", CCES[SSH]), open_finding("b-1", CCES[DMESG])]
    playbook = download(analyst_client(client), "ansible", selected).content.decode()
    assert plays_of(playbook) == []
    assert f"# [1] {CCES[SSH]}: Disable SSH root login" in playbook
    assert "#     Note: its Ansible fix does not parse as YAML" in playbook
    assert f"# [2] {CCES[DMESG]}: Restrict dmesg" in playbook
    assert "#     Note: its Ansible fix runs tasks off its machines (delegate_to" in playbook


def test_a_fix_holding_the_here_document_end_line_cannot_end_it_early(client, fleet, tmp_path):
    hostile = f"echo inside\n{HEREDOC_END}\necho outside-the-guard\n"
    Rule.objects.filter(key=CCES[SSH]).update(fix_bash=hostile)
    script = download(analyst_client(client), "bash", [open_finding("a-1", CCES[SSH])]).content.decode()
    assert bash_syntax_error(script, tmp_path) == ""
    assert f"<<'{HEREDOC_END}_1' || true\n{hostile}{HEREDOC_END}_1\n" in script


# Untrusted names and titles.

HOSTILE_HOST = "x$(touch pwned-host)`touch pwned-tick`'\"; touch pwned-quote"
HOSTILE_TITLE = "Harmless\ntouch pwned-title\r\n- hosts: all\u2028  tasks: [] \x85 '\"$(touch pwned-sub)"
HOSTILE_TEXT = "Edit the file.\rtouch pwned-text\u2028- hosts: all\x85touch pwned-next\x0btouch pwned-vt"


@pytest.fixture
def hostile() -> list[Finding]:
    scan_xccdf(HOSTILE_HOST, {SSH: "fail", DMESG: "fail"}, cces=CCES, titles={SSH: HOSTILE_TITLE})
    # As stored, whatever the importer makes of the line breaks; DMESG is a manual step with hostile text.
    Rule.objects.update(title=HOSTILE_TITLE, fix_ansible=TASKS)
    Rule.objects.filter(key=CCES[DMESG]).update(fix_bash="", fix_ansible="", fix_text=HOSTILE_TEXT)
    return list(Finding.objects.filter(state=FindingState.OPEN).order_by("rule__key"))


def run_as_host(script: str, host: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the script where `hostname` says `host` and `id -u` says root, in an empty directory."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for command, output in (("hostname", host), ("id", "0")):
        (fake / command).write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(output)}\n")
        (fake / command).chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "bundle.sh").write_text(script)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "HOME": str(work)}
    return subprocess.run(
        ["bash", "bundle.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_a_hostile_host_name_and_title_stay_in_comments_and_quoted_strings_in_bash(client, hostile, tmp_path):
    assert Resource.objects.get().name == HOSTILE_HOST
    script = download(analyst_client(client), "bash", hostile).content.decode()
    assert bash_syntax_error(script, tmp_path) == ""
    for line in script.splitlines():
        if "touch pwned" in line:
            assert line.lstrip().startswith("#") or shlex.quote(HOSTILE_HOST) in line or "run_fix '" in line
    ran = run_as_host(script, HOSTILE_HOST, tmp_path)
    assert ran.returncode == 0, ran.stderr
    # The machine's own section ran its fix, and nothing else ran.
    assert f"fix {SSH}" in ran.stdout
    assert sorted(path.name for path in (tmp_path / "work").iterdir()) == ["bundle.sh"]


def test_a_hostile_host_name_and_title_are_values_in_the_playbook_never_structure(client, hostile):
    playbook = download(analyst_client(client), "ansible", hostile).content.decode()
    # The host name cannot target anything in Ansible: no play, and the reader is told.
    assert plays_of(playbook) == []
    assert "# LEFT OUT: machines without a host name Ansible can take as one host" in playbook
    assert all(line.startswith("#") or line == "[]" for line in playbook.splitlines() if line)


def test_a_hostile_title_is_one_task_name_in_the_playbook(client, hostile):
    Resource.objects.update(name="web-9")
    Finding.objects.update(scan=None)
    (play,) = plays_of(download(analyst_client(client), "ansible", hostile).content.decode())
    assert play["hosts"] == ["web-9"]
    ((name, *_),) = [list(task) for task in play["tasks"]]
    assert name == "name"
    assert play["tasks"][0]["name"].startswith("Harmless touch pwned-title - hosts: all")
    assert play["tasks"][0]["ansible.builtin.command"] == "/bin/true"


def test_reserved_and_pattern_host_names_are_never_ansible_hosts(client, fleet):
    Resource.objects.filter(name="a-1").update(name="all")
    Resource.objects.filter(name="b-1").update(name="web-*")
    Finding.objects.update(scan=None)
    selected = list(Finding.objects.filter(rule__key=CCES[SSH], state=FindingState.OPEN))
    playbook = download(analyst_client(client), "ansible", selected).content.decode()
    (play,) = plays_of(playbook)
    assert play["hosts"] == ["c-1"]
    assert "# all\n" in playbook
    assert "# web-*\n" in playbook


# Who may download what.


def test_a_tower_lead_bundles_their_machines_and_gets_a_404_for_another_towers(client, fleet):
    recommendation = make_recommendation("disk-encryption")
    towers = {}
    for host in ("a-1", "b-1"):
        towers[host] = Team.objects.create(name=f"Tower {host}")
        created = Assignment.objects.create(
            assessment=make_assessment(Resource.objects.get(name=host), recommendation, "unhealthy"),
            team=towers[host],
            first_detected=timezone.now(),
            due_date=date(2026, 12, 31),
        )
        refresh_tower_summaries([created.assessment.resource_id])
    client.force_login(make_user("lead-a", role=Role.LEAD, team=towers["a-1"]))
    own, other = open_finding("a-1", CCES[SSH]), open_finding("b-1", CCES[SSH])
    assert download(client, "bash", [own]).status_code == 200
    for kind in ("bash", "ansible"):
        for selection in ([other], [own, other]):
            refused = download(client, kind, selection)
            assert refused.status_code == 404
            assert "b-1" not in refused.content.decode()
    assert AuditEvent.objects.filter(action="export").count() == 1


def test_a_selection_must_name_failed_rules(client, fleet):
    client = analyst_client(client)
    assert client.post(reverse("quick-fix-bash")).status_code == 400
    assert client.post(reverse("quick-fix-bash"), {"finding": ["1; drop"]}).status_code == 400
    assert client.post(reverse("quick-fix-bash"), {"finding": ["\u00b2"]}).status_code == 400
    assert client.post(reverse("quick-fix-bash"), {"finding": ["9" * 30]}).status_code == 400
    assert client.post(reverse("quick-fix-bash"), {"finding": ["99999"]}).status_code == 404
    assert client.get(reverse("quick-fix-bash")).status_code == 405
    passed = Finding.objects.filter(state=FindingState.PASSED).first()
    assert passed is not None
    assert download(client, "ansible", [passed]).status_code == 400
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_download_needs_the_csrf_token(fleet):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    assert download(client, "bash", [open_finding("a-1", CCES[SSH])]).status_code == 403


def test_the_bundle_costs_the_same_queries_for_one_finding_as_for_many(client, fleet):
    client = analyst_client(client)
    one = [open_finding("a-1", CCES[SSH])]
    many = list(Finding.objects.filter(state=FindingState.OPEN))
    assert len(many) == 4
    with CaptureQueriesContext(connection) as small:
        download(client, "ansible", one)
    with CaptureQueriesContext(connection) as big:
        download(client, "ansible", many)
    assert len(big) == len(small)


# The pages.


def test_the_failing_tabs_of_the_rule_and_the_machine_pages_offer_the_quick_fix(client, fleet):
    client = analyst_client(client)
    finding = open_finding("a-1", CCES[SSH])
    rule_page = client.get(reverse("rule", args=[finding.rule_id])).content.decode()
    checkbox = f'<input type="checkbox" form="fix-bundle" name="finding" value="{finding.pk}"'
    assert checkbox in rule_page
    assert reverse("quick-fix-ansible") in rule_page
    assert "posture/fix_bundle.js" in rule_page
    passing = client.get(reverse("rule", args=[finding.rule_id]), {"tab": "passing"}).content.decode()
    assert "fix-bundle" not in passing
    machine_page = client.get(reverse("resource", args=[finding.resource_id])).content.decode()
    assert checkbox in machine_page
    assert 'id="fix-bundle"' in machine_page
    passed = client.get(reverse("resource", args=[finding.resource_id]), {"state": "passed"}).content.decode()
    assert "fix-bundle" not in passed


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_chromium_select_all_then_download_both_files(live_server: LiveServer, browser_page: Page, fleet):
    make_user("analyst", password=PASSWORD)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}{reverse('rule', args=[Rule.objects.get(key=CCES[SSH]).pk])}")
    bash, ansible = (page.get_by_role("button", name=f"Quick fix: {kind}") for kind in ("bash", "Ansible"))
    expect(bash).to_be_disabled()
    expect(ansible).to_be_disabled()
    page.get_by_label("Select every machine on this page").check()
    page.get_by_label("Select b-1").uncheck()
    expect(bash).to_be_enabled()
    with page.expect_download() as script:
        bash.click()
    text = Path(script.value.path()).read_text()
    assert "\na-1|c-1)\n" in text
    assert script.value.suggested_filename.endswith(".sh")
    with page.expect_download() as playbook:
        ansible.click()
    (play,) = plays_of(Path(playbook.value.path()).read_text())
    assert play["hosts"] == ["a-1", "c-1"]
