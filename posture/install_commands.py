"""One-line agent install commands (enroll + run, token embedded) for the machines a user selected.

The commands fetch agent/install.sh or agent/install.ps1 from the Posture server itself (served by
web/pages/agent_files.py), which install the agent, enroll it with the token, run it once and schedule it.
A token is issued for each set of commands shown: like every enrollment token it is shown once, stored
as a digest, and labelled so that it can be told apart and revoked.
"""

import shlex
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest

from posture.agents import issue_token
from posture.errors import UserError
from posture.models import MACHINE_KINDS, AgentState, OperatingSystem, Resource, ResourceKind, Workspace

# How many machines one request may ask commands for: a page of selections, not the whole estate.
MAX_MACHINES = 500


@dataclass(frozen=True)
class MachineCommand:
    resource: Resource
    linux: str
    windows: str

    @property
    def shells(self) -> list[tuple[str, str]]:
        """(label, command) for the machine's OS; both when its OS is unknown."""
        if self.resource.os == OperatingSystem.LINUX:
            return [("Linux (root shell)", self.linux)]
        if self.resource.os == OperatingSystem.WINDOWS:
            return [("Windows (elevated PowerShell)", self.windows)]
        return [("Linux (root shell)", self.linux), ("Windows (elevated PowerShell)", self.windows)]


@dataclass
class InstallCommands:
    workspace: Workspace
    token_prefix: str
    machines: list[MachineCommand] = field(default_factory=list)
    # Selected resources that are not machines (a cluster) and scale sets with no instance to fix.
    skipped: list[Resource] = field(default_factory=list)


def server_url(request: HttpRequest) -> str:
    """The URL machines reach Posture by: POSTURE_PUBLIC_URL, else the one the browser used."""
    configured = str(settings.POSTURE_PUBLIC_URL or "")
    return (configured or request.build_absolute_uri("/")).rstrip("/")


def _powershell_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def linux_command(url: str, token: str, resource_id: str) -> str:
    script = shlex.quote(f"{url}/agent/install.sh")
    arguments = " ".join(shlex.quote(a) for a in (url, token, resource_id))
    return f"curl -fsSL {script} | sudo sh -s -- {arguments}"


def windows_command(url: str, token: str, resource_id: str) -> str:
    script = _powershell_quote(f"{url}/agent/install.ps1")
    return (
        f"& ([scriptblock]::Create((Invoke-WebRequest -UseBasicParsing {script}).Content)) "
        f"-Url {_powershell_quote(url)} -Token {_powershell_quote(token)} "
        f"-ResourceId {_powershell_quote(resource_id)}"
    )


def machines_to_fix(resources: list[Resource]) -> tuple[list[Resource], list[Resource]]:
    """(machines, skipped): a scale set stands for its instances without a working agent."""
    scale_sets = [r.pk for r in resources if r.kind == ResourceKind.VMSS]
    instances: dict[int, list[Resource]] = {pk: [] for pk in scale_sets}
    for instance in Resource.objects.filter(parent_id__in=scale_sets, kind=ResourceKind.VMSS_INSTANCE):
        if instance.agent_state != AgentState.INSTALLED:
            instances[instance.parent_id].append(instance)  # type: ignore[index]
    machines: list[Resource] = []
    skipped: list[Resource] = []
    for resource in resources:
        if resource.kind in MACHINE_KINDS:
            machines.append(resource)
        elif resource.kind == ResourceKind.VMSS and instances[resource.pk]:
            machines.extend(instances[resource.pk])
        else:
            skipped.append(resource)
    unique = list({m.pk: m for m in machines}.values())
    return unique, skipped


def install_commands(
    *, resources: list[Resource], workspace: Workspace, user: User, url: str, purpose: str
) -> InstallCommands:
    """Issue a token for `workspace` and the commands that install the agent on `resources`."""
    machines, skipped = machines_to_fix(resources)
    if not machines:
        raise UserError("none of the selected resources is a machine or a scale set with instances to fix")
    if len(machines) > MAX_MACHINES:
        raise UserError(f"{len(machines)} machines selected; select at most {MAX_MACHINES} at once")
    label = f"{purpose}: {len(machines)} machine{'' if len(machines) == 1 else 's'}"
    issued = issue_token(workspace=workspace, user=user, label=label[:200])
    result = InstallCommands(workspace=workspace, token_prefix=issued.record.prefix, skipped=skipped)
    for machine in sorted(machines, key=lambda m: (m.os, m.name)):
        result.machines.append(
            MachineCommand(
                resource=machine,
                linux=linux_command(url, issued.token, machine.resource_id),
                windows=windows_command(url, issued.token, machine.resource_id),
            )
        )
    return result


def default_workspace(resources: list[Resource]) -> Workspace | None:
    """The workspace commands enroll into unless the user picks one: the subscription's
    auto-provisioning workspace, else the one the machines report to, else the only one there is."""
    for resource in resources:
        workspace = resource.subscription.provisioning_workspace
        if workspace is not None:
            return workspace
    named = {r.workspace_id for r in resources if r.workspace_id}
    if named:
        found = Workspace.objects.filter(workspace_id__in=named).order_by("name").first()
        if found is not None:
            return found
    workspaces = list(Workspace.objects.all()[:2])
    return workspaces[0] if len(workspaces) == 1 else None
