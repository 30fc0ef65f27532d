"""Agent install commands: the Quick fix of the agent recommendations, a resource's install command,
the agent files machines download, and the subscriptions page's auto-provisioning."""

import re
import shlex
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from governance.roles import Role
from posture.agents import authenticate_token
from posture.install_commands import linux_command, windows_command
from posture.models import EnrollmentToken, Resource, Workspace
from recommendations.evaluators.agents import evaluate_agents
from recommendations.models import Assessment
from tests.factories import make_resource, make_subscription, make_user

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"pst_[A-Za-z0-9_-]{43}")


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.objects.create(name="Main", workspace_id="ws-main")


def commands_page(client, *resources: Resource, **fields: str):
    data = {"resource": [str(r.pk) for r in resources], **fields}
    return client.post("/agents/install-commands/", data)


def test_the_linux_command_quotes_every_argument_for_the_shell():
    command = linux_command("https://posture.example.com", "pst_abc", "onprem:it's here; rm -rf /")
    assert command.startswith("curl -fsSL https://posture.example.com/agent/install.sh | sudo sh -s -- ")
    arguments = shlex.split(command.split("| sudo sh -s -- ", 1)[1])
    assert arguments == ["https://posture.example.com", "pst_abc", "onprem:it's here; rm -rf /"]


def test_the_powershell_command_doubles_single_quotes():
    command = windows_command("https://posture.example.com", "pst_abc", "onprem:o'brien")
    assert (
        "(Invoke-WebRequest -UseBasicParsing 'https://posture.example.com/agent/install.ps1').Content"
        in command
    )
    assert command.endswith(
        "-Url 'https://posture.example.com' -Token 'pst_abc' -ResourceId 'onprem:o''brien'"
    )


def test_quick_fix_shows_each_machines_command_with_one_new_working_token(admin_client, workspace):
    linux = make_resource(name="web-01", os="linux", resource_id="/subscriptions/1/vm/web-01")
    windows = make_resource(name="db-01", os="windows", resource_id="/subscriptions/1/vm/db-01")
    response = commands_page(admin_client, linux, windows, recommendation="vm-agent-installed")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1
    token = tokens.pop()
    record = authenticate_token(token)
    assert record is not None
    assert record.workspace == workspace
    assert record.label == "Quick fix of vm-agent-installed: 2 machines"
    assert token not in EnrollmentToken.objects.values_list("digest", flat=True)
    assert f"curl -fsSL http://testserver/agent/install.sh | sudo sh -s -- http://testserver {token} " in html
    assert "/subscriptions/1/vm/web-01" in html
    # Windows machines get the PowerShell form only, Linux ones the shell form only.
    assert html.count("Windows (elevated PowerShell)") == 1
    assert html.count("Linux (root shell)") == 1
    assert f"-Token &#x27;{token}&#x27; -ResourceId &#x27;/subscriptions/1/vm/db-01&#x27;" in html


def test_a_scale_set_stands_for_its_instances_without_the_agent(admin_client, workspace):
    scale_set = make_resource(name="api", kind="vmss")
    make_resource(name="api_0", kind="vmss_instance", parent=scale_set, agent_state="installed")
    make_resource(name="api_1", kind="vmss_instance", parent=scale_set, agent_state="not_installed")
    cluster = make_resource(name="aks", kind="k8s_cluster", os="")
    html = commands_page(admin_client, scale_set, cluster).content.decode()
    assert ">api_1</a>" in html
    assert ">api_0</a>" not in html
    assert "Left out, not machines with an agent to install: aks." in html
    assert EnrollmentToken.objects.get().label == "Install command: 1 machine"


def test_the_workspace_is_the_subscriptions_auto_provisioning_one_unless_chosen(admin_client, workspace):
    other = Workspace.objects.create(name="Other", workspace_id="ws-other")
    subscription = make_subscription("Prod")
    subscription.provisioning_workspace = other
    subscription.save()
    vm = make_resource(subscription, name="vm-1")
    commands_page(admin_client, vm)
    assert EnrollmentToken.objects.get().workspace == other
    commands_page(admin_client, vm, workspace="ws-main")
    assert EnrollmentToken.objects.order_by("-pk")[0].workspace == workspace


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"resource": []}, "Select at least one machine."),
        ({"resource": ["x"]}, "The selection names resources that do not exist."),
        ({"resource": ["999999"]}, "The selection names resources that do not exist."),
        ({"workspace": "ws-nope"}, "No workspace &#x27;ws-nope&#x27; is registered."),
    ],
)
def test_a_bad_selection_is_a_clear_400_and_issues_no_token(admin_client, workspace, fields, message):
    vm = make_resource(name="vm-1")
    data = {"resource": [str(vm.pk)], **fields}
    response = admin_client.post("/agents/install-commands/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not EnrollmentToken.objects.exists()


def test_without_any_workspace_the_page_says_to_register_one(admin_client):
    vm = make_resource(name="vm-1")
    response = commands_page(admin_client, vm)
    assert response.status_code == 400
    assert "No workspace is registered yet: register one first" in response.content.decode()
    Workspace.objects.create(name="A", workspace_id="ws-a")
    Workspace.objects.create(name="B", workspace_id="ws-b")
    assert (
        "Choose the workspace to enroll the machines in." in commands_page(admin_client, vm).content.decode()
    )


def test_install_commands_need_a_login_and_a_post(client, admin_client, workspace):
    vm = make_resource(name="vm-1")
    response = commands_page(client, vm)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert admin_client.get("/agents/install-commands/", {"resource": vm.pk}).status_code == 405
    assert not EnrollmentToken.objects.exists()


def test_the_quick_fix_form_is_on_the_agent_recommendations_unhealthy_tab_only(admin_client, workspace):
    vm = make_resource(name="vm-1", agent_state="not_installed", agent_evidence="inventory")
    evaluate_agents([vm.pk])
    unhealthy = admin_client.get("/recommendations/vm-agent-installed/").content.decode()
    assert "data-quick-fix" in unhealthy
    assert f'name="resource" value="{vm.pk}"' in unhealthy
    assert '<option value="ws-main">Main (ws-main)</option>' in unhealthy
    healthy_tab = admin_client.get("/recommendations/vm-agent-installed/", {"tab": "healthy"})
    assert "data-quick-fix" not in healthy_tab.content.decode()
    config = admin_client.get("/recommendations/machine-config-vulns/").content.decode()
    assert "data-quick-fix" not in config


def test_a_machines_page_offers_its_install_command(admin_client):
    vm = make_resource(name="vm-1", agent_state="pending", agent_evidence="provisioning")
    html = admin_client.get(f"/resources/{vm.pk}/").content.decode()
    assert "Show the install command" in html
    assert "Auto-provisioning" in html
    cluster = make_resource(name="aks", kind="k8s_cluster", os="")
    assert "install command" not in admin_client.get(f"/resources/{cluster.pk}/").content.decode()


@pytest.mark.parametrize("name", ["install.sh", "install.ps1", "posture_agent.py", "posture-agent.timer"])
def test_machines_download_the_agent_files_without_a_login(client, name):
    response = client.get(f"/agent/{name}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    with open(f"agent/{name}", "rb") as original:
        assert b"".join(response.streaming_content) == original.read()


@pytest.mark.parametrize("name", ["README.md", "..%2Fmanage.py", "%2Fetc%2Fpasswd", "install.SH"])
def test_nothing_else_is_served_from_the_agent_directory(client, name):
    assert client.get(f"/agent/{name}").status_code == 404


def test_the_subscriptions_page_turns_auto_provisioning_on_and_off(admin_client, workspace):
    subscription = make_subscription("Lab")
    bare = make_resource(subscription, name="lab-1", kind="arc_machine", agent_state="not_installed")
    with_agent = make_resource(
        subscription, name="lab-2", kind="arc_machine", agent_state="installed", agent_evidence="inventory"
    )
    page = admin_client.get("/subscriptions/").content.decode()
    assert f'action="/subscriptions/{subscription.pk}/auto-provisioning/"' in page
    response = admin_client.post(
        f"/subscriptions/{subscription.pk}/auto-provisioning/", {"workspace": "ws-main"}
    )
    assert response.status_code == 302
    after = admin_client.get(response["Location"]).content.decode()
    assert (
        "Auto-provisioning is on for Lab (workspace Main); 1 machines without an agent are pending" in after
    )
    bare.refresh_from_db()
    with_agent.refresh_from_db()
    assert (bare.agent_state, bare.agent_evidence) == ("pending", "provisioning")
    assert with_agent.agent_state == "installed"
    pending = Assessment.objects.get(resource=bare, recommendation__key="arc-linux-agent-installed")
    assert (pending.status, pending.reason) == ("unhealthy", "Pending agent installation")
    admin_client.post(f"/subscriptions/{subscription.pk}/auto-provisioning/", {"workspace": ""})
    bare.refresh_from_db()
    assert bare.agent_state == "not_installed"
    subscription.refresh_from_db()
    assert subscription.provisioning_workspace is None
    bad = admin_client.post(f"/subscriptions/{subscription.pk}/auto-provisioning/", {"workspace": "ws-x"})
    assert bad.status_code == 400


def test_the_auto_provision_command(workspace):
    subscription = make_subscription("Lab")
    make_resource(subscription, name="lab-1", kind="arc_machine", agent_state="not_installed")
    out = StringIO()
    call_command("auto_provision", "Lab", "--workspace", "ws-main", stdout=out)
    assert out.getvalue() == (
        "auto-provisioning on for Lab into ws-main: 1 machines without an agent now pending installation\n"
    )
    with pytest.raises(CommandError, match="no workspace 'ws-x' is registered"):
        call_command("auto_provision", "Lab", "--workspace", "ws-x")
    with pytest.raises(CommandError, match="no subscription named or with id 'Nope'"):
        call_command("auto_provision", "Nope", "--off")
    out = StringIO()
    call_command("auto_provision", "Lab", "--off", stdout=out)
    assert out.getvalue() == "auto-provisioning off for Lab: 1 pending machines reverted\n"


def test_registering_a_workspace_clears_unknown_workspace_at_once():
    vm = make_resource(
        name="vm-1", agent_state="installed", agent_evidence="inventory", workspace_id="ws-late"
    )
    evaluate_agents([vm.pk])
    health = Assessment.objects.get(resource=vm, recommendation__key="agent-health-resolved")
    assert health.reason.startswith("Agent connected to missing or unknown workspace")
    call_command("add_workspace", "Late", "--workspace-id", "ws-late", stdout=StringIO())
    health.refresh_from_db()
    # Known now; the machine never sent a heartbeat, which is the next thing to fix.
    assert health.reason == "Agent not responsive or missing ID (no heartbeat received)"


def test_only_roles_that_may_install_see_the_quick_fix_and_the_install_button(client, workspace):
    vm = make_resource(name="vm-1", agent_state="not_installed", agent_evidence="inventory")
    evaluate_agents([vm.pk])
    client.force_login(make_user("viewer", role=Role.VIEWER))
    assert "data-quick-fix" not in client.get("/recommendations/vm-agent-installed/").content.decode()
    assert "install command" not in client.get(f"/resources/{vm.pk}/").content.decode()
    assert commands_page(client, vm).status_code == 403
