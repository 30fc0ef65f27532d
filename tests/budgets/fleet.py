"""A mixed fleet of any size, built through the real import path, for the query budgets.

`build_fleet(machines)` imports, as an upload would: an inventory CSV (two subscriptions; Linux and
Windows VMs, Arc machines and scale set instances in a cycle, a scale set and a Kubernetes cluster per
subscription), a Defender export for every VM, scale set and cluster, an XCCDF scan per Linux machine,
a SecurityBaseline export of the Windows machines and a kubectl dump per cluster. Two towers own a
subscription each through governance rules, so every unhealthy assessment is somebody's item.

Everything grows with `machines` except the scale sets and clusters (two of each), whose instances do.
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.contrib.auth.models import User

from governance.models import Assignment, Exemption, ExemptionRequest, GovernanceRule, Team
from governance.roles import Role
from intake.jobs import run_import_job, submit_upload
from posture.models import ImportJob, ImportStatus, Resource
from recommendations.models import Finding, Recommendation, Rule
from scoring.models import Control
from tests.factories import make_user
from tests.scans import T1, baseline_row
from tests.scap_builder import xccdf_result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SUBSCRIPTIONS = (
    ("Production", "3f2a9c1e-0000-4000-8000-00000000b001"),
    ("Lab", "3f2a9c1e-0000-4000-8000-00000000b002"),
)
# (kind, os) of machine i, in a cycle: every size from six machines up holds every kind.
MACHINE_SHAPES = (
    ("vm", "linux"),
    ("vm", "windows"),
    ("arc_machine", "linux"),
    ("arc_machine", "windows"),
    ("vmss_instance", "linux"),
    ("vmss_instance", "windows"),
)
SMALL = 6
BIG = 30
# The XCCDF scan of every Linux machine: a fixed rule set, a third failing (and one error, one n/a).
SCAN_RULES = 24
# The Defender assessment keys the catalog knows (tests/fixtures/defender/arg-assessments.json).
VM_AGENT = "d1db3318-01ff-16de-29eb-28b344515626"
VM_VULNERABILITIES = "c476dc48-8110-4139-91af-c8d940896b98"
VMSS_AGENT = "45cfe080-ceb1-a91e-9743-71551ed24e94"
VMSS_VULNERABILITIES = "8941d121-f740-35f6-952c-6561d2b38d36"
CLUSTER_POLICY = "08e628db-e2ed-4793-bc91-d13e684401c3"
VM_AGENT_KEY = "vm-agent-installed"
# The recommendation every Linux machine fails (its scan has failed rules).
CONFIG_KEY = "machine-config-vulns"
BASELINE_CCES = ("CCE-37615-2", "CCE-38347-1", "CCE-36254-1", "CCE-35818-4")


def subscription_of(i: int) -> tuple[str, str]:
    return SUBSCRIPTIONS[i % len(SUBSCRIPTIONS)]


def group_id(subscription_guid: str) -> str:
    return f"/subscriptions/{subscription_guid}/resourceGroups/fleet"


def scale_set_id(subscription_guid: str) -> str:
    return f"{group_id(subscription_guid)}/providers/Microsoft.Compute/virtualMachineScaleSets/pool"


def cluster_id(subscription_guid: str) -> str:
    return f"{group_id(subscription_guid)}/providers/Microsoft.ContainerService/managedClusters/aks"


def machine_name(i: int) -> str:
    return f"m{i:05d}"


def machine_id(i: int) -> str:
    kind, _ = MACHINE_SHAPES[i % len(MACHINE_SHAPES)]
    guid = subscription_of(i)[1]
    if kind == "vm":
        return f"{group_id(guid)}/providers/Microsoft.Compute/virtualMachines/{machine_name(i)}"
    if kind == "arc_machine":
        return f"{group_id(guid)}/providers/Microsoft.HybridCompute/machines/{machine_name(i)}"
    return f"{scale_set_id(guid)}/virtualMachines/{i}"


def inventory_csv(machines: range) -> bytes:
    """The inventory of machines `machines` (and the scale sets and clusters they need)."""
    lines = [
        "resource_id,name,kind,os,subscription,resource_group,parent_id,tags,power_state,agent,"
        "agent_version,workspace_id,last_heartbeat"
    ]
    for name, guid in SUBSCRIPTIONS:
        lines.append(f"{scale_set_id(guid)},pool-{name.lower()},vmss,linux,{name},fleet,,,running,,,,")
        lines.append(f"{cluster_id(guid)},aks-{name.lower()},k8s_cluster,,{name},fleet,,,running,,,,")
    for i in machines:
        kind, os = MACHINE_SHAPES[i % len(MACHINE_SHAPES)]
        subscription, guid = subscription_of(i)
        parent = scale_set_id(guid) if kind == "vmss_instance" else ""
        # Half the agents missing, so the agent recommendations have unhealthy machines to assign.
        agent = "installed" if i % 2 else "not_installed"
        lines.append(
            f"{machine_id(i)},{machine_name(i)},{kind},{os},{subscription},fleet,{parent},"
            f"owner=team{i % 3},running,{agent},,,"
        )
    return ("\n".join(lines) + "\n").encode()


def _assessment(resource_id: str, key: str, code: str) -> dict[str, object]:
    return {
        "id": f"{resource_id}/providers/Microsoft.Security/assessments/{key}",
        "name": key,
        "type": "microsoft.security/assessments",
        "properties": {
            "displayName": "",
            "resourceDetails": {"Source": "Azure", "Id": resource_id},
            "status": {
                "code": code,
                "firstEvaluationDate": "2026-11-02T09:14:03Z",
                "statusChangeDate": "2026-11-20T17:40:11Z",
            },
        },
    }


def defender_json(machines: range) -> bytes:
    """Defender's assessments of the VMs among `machines`, the scale sets and the clusters."""
    records = []
    for _, guid in SUBSCRIPTIONS:
        records.append(_assessment(scale_set_id(guid), VMSS_AGENT, "Healthy"))
        records.append(_assessment(scale_set_id(guid), VMSS_VULNERABILITIES, "Unhealthy"))
        records.append(_assessment(cluster_id(guid), CLUSTER_POLICY, "Unhealthy"))
    for i in machines:
        if MACHINE_SHAPES[i % len(MACHINE_SHAPES)][0] == "vm":
            records.append(_assessment(machine_id(i), VM_AGENT, "Unhealthy" if i % 2 else "Healthy"))
            records.append(_assessment(machine_id(i), VM_VULNERABILITIES, "Unhealthy"))
    return json.dumps({"count": len(records), "data": records}).encode()


def scan_results(rules: int, *, seed: int = 0) -> dict[str, str]:
    """Rule name -> result: a third failing, one error, one not applicable, the rest passing."""
    results = {}
    for r in range(rules):
        if r == 1:
            result = "error"
        elif r == 2:
            result = "notapplicable"
        else:
            result = "fail" if (r + seed) % 3 == 0 else "pass"
        results[f"fleet_rule_{r:04d}"] = result
    return results


def scan_xml(host: str, rules: int = SCAN_RULES, *, seed: int = 0, bare: bool = False) -> bytes:
    """An OpenSCAP-style XCCDF result of `host` with `rules` rule results (CCEs for every rule)."""
    results = scan_results(rules, seed=seed)
    cces = {name: f"CCE-{80000 + n}-{n % 10}" for n, name in enumerate(results)}
    return xccdf_result(host=host, results=results, when=T1, cces=cces, bare=bare)


def baseline_json(machines: range) -> bytes:
    """The SecurityBaseline rows of the Windows machines among `machines`."""
    rows = [
        baseline_row(machine_name(i), cce, "Failed" if (n + i) % 2 else "Passed")
        for i in machines
        if MACHINE_SHAPES[i % len(MACHINE_SHAPES)][1] == "windows"
        for n, cce in enumerate(BASELINE_CCES)
    ]
    return json.dumps(rows).encode()


def kubectl_dump() -> bytes:
    return (FIXTURES / "kubernetes" / "aks-prod.json").read_bytes()


def upload(user: User, document: bytes, name: str, file_format: str, resource: str = "") -> ImportJob:
    """Upload a file and run its import job in this process, as the worker would."""
    job = submit_upload(
        chunks=[document], name=name, user=user, file_format=file_format, resource=resource
    ).job
    status = run_import_job(job.pk)
    assert status == ImportStatus.DONE, ImportJob.objects.get(pk=job.pk).error
    return job


def import_machines(user: User, machines: range) -> None:
    """Import the inventory, Defender's assessments and the scans of `machines`, one file each."""
    label = f"{machines.start}-{machines.stop}"
    upload(user, inventory_csv(machines), f"inventory-{label}.csv", "inventory")
    upload(user, defender_json(machines), f"defender-{label}.json", "defender")
    for i in machines:
        if MACHINE_SHAPES[i % len(MACHINE_SHAPES)][1] == "linux":
            upload(user, scan_xml(machine_name(i), seed=i), f"{machine_name(i)}.xml", "scap", machine_id(i))
    upload(user, baseline_json(machines), f"baseline-{label}.json", "securitybaseline")


@dataclass
class Fleet:
    """The people and a few rows every page route can be given as its URL argument."""

    machines: int
    admin: User
    analyst: User
    lead: User
    member: User
    viewer: User
    towers: list[Team]

    @property
    def tower(self) -> Team:
        """The lead's and member's tower."""
        return self.towers[0]

    def grow(self, machines: int) -> None:
        """Import machines up to `machines`; the objects the pages are asked about stay the same."""
        added = range(self.machines, machines)
        import_machines(self.analyst, added)
        # The people and the waivers grow with the fleet too: a member and an exemption per Windows VM.
        agent = Recommendation.objects.get(key=VM_AGENT_KEY)
        for i in added:
            if MACHINE_SHAPES[i % len(MACHINE_SHAPES)] == ("vm", "windows"):
                tower = self.towers[i % 2]
                make_user(f"member{i}", role=Role.MEMBER, team=tower, email=f"member{i}@example.com")
                Exemption.objects.create(
                    recommendation=agent,
                    resource=Resource.objects.get(resource_id=machine_id(i)),
                    category="waiver",
                    justification=f"waived on {machine_name(i)}",
                )
                # And an exemption request for the machine's items, waiting for an analyst.
                items = Assignment.objects.filter(assessment__resource__resource_id=machine_id(i))
                if items.exists():
                    request = ExemptionRequest.objects.create(
                        category="risk_accepted",
                        justification=f"asked for {machine_name(i)}",
                        expires_on=date(2027, 3, 31),
                    )
                    request.items.set(items)
        self.machines = machines

    # The rows the routes taking a pk show: always the first of their kind, the same at every size.
    def ids(self) -> dict[str, int]:
        guid = SUBSCRIPTIONS[0][1]
        machine = Resource.objects.get(resource_id=machine_id(0))
        rule = Rule.objects.filter(findings__state="open").order_by("pk").first()
        assert rule is not None
        return {
            "machine": machine.pk,
            "scale_set": Resource.objects.get(resource_id=scale_set_id(guid)).pk,
            "cluster": Resource.objects.get(resource_id=cluster_id(guid)).pk,
            "rule": rule.pk,
            "control": Control.objects.filter(recommendations__key__isnull=False)
            .order_by("position")
            .first()
            .pk,  # type: ignore[union-attr]
            "item": Assignment.objects.filter(team=self.tower).order_by("pk").first().pk,  # type: ignore[union-attr]
            "finding": Finding.objects.order_by("pk").first().pk,  # type: ignore[union-attr]
            "import": ImportJob.objects.order_by("pk").first().pk,  # type: ignore[union-attr]
            "exemption_request": ExemptionRequest.objects.filter(items__team=self.tower)
            .order_by("pk")
            .first()
            .pk,  # type: ignore[union-attr]
        }


def build_fleet(machines: int) -> Fleet:
    """The towers, their people and rules, then the fleet imported as files."""
    towers = [Team.objects.create(name=f"Tower {name}") for name, _ in SUBSCRIPTIONS]
    for priority, (tower, (name, _)) in enumerate(zip(towers, SUBSCRIPTIONS, strict=True), start=1):
        GovernanceRule.objects.create(
            name=f"{name} to {tower.name}", priority=priority, team=tower, subscription_names=[name]
        )
    fleet = Fleet(
        machines=0,
        admin=make_user("admin", role=Role.ADMIN, email="admin@example.com"),
        analyst=make_user("analyst", role=Role.ANALYST, email="analyst@example.com"),
        lead=make_user("lead", role=Role.LEAD, team=towers[0], email="lead@example.com"),
        member=make_user("member", role=Role.MEMBER, team=towers[0], email="member@example.com"),
        viewer=make_user("viewer", role=Role.VIEWER, email="viewer@example.com"),
        towers=towers,
    )
    fleet.grow(machines)
    # The lead's tower asks for its first item (the request pages' object, the same at every size).
    request = ExemptionRequest.objects.create(
        category="waiver", justification="the tower's own request", expires_on=date(2027, 3, 31)
    )
    request.items.set(Assignment.objects.filter(team=fleet.tower).order_by("pk")[:1])
    for _, guid in SUBSCRIPTIONS:
        upload(fleet.analyst, kubectl_dump(), f"kubectl-{guid[-4:]}.json", "kubernetes", cluster_id(guid))
    return fleet
