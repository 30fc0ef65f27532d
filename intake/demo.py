"""A believable demo estate, generated as the files a team would import and fed through ingest.

Deterministic: the same estate every time, so `load_demo` twice changes nothing. Every recommendation
of the catalog appears with every status it can take, with Defender's reasons.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.models import GovernanceRule, Team
from intake import demo_clouds, demo_scans
from intake.agents import set_auto_provisioning
from intake.pipeline import ImportRun, IngestResult
from intake.reading import Source
from posture.errors import RejectedFile
from posture.importers.inventory import COLUMNS
from posture.models import Cloud, Subscription, Workspace

BASE_TIME = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
WORKSPACE = ("Main", "ws-main")
DEMO_TOWERS: tuple[tuple[str, dict[str, Any], int], ...] = (
    ("Kubernetes platform", {"kinds": ["k8s_cluster"]}, 30),
    ("Linux servers", {"os": "linux"}, 14),
    ("Windows servers", {"os": "windows"}, 30),
)
# Production VMs with an agent problem, by index: each of Defender's monitoring states that an
# inventory can show (the rest are healthy; every fifth VM has no agent).
VM_AGENT_PROBLEMS: dict[tuple[str, int], dict[str, Any]] = {
    ("Production", 1): {"power": "stopped"},
    ("Production", 5): {"silent_for": timedelta(hours=30)},
    ("Production", 7): {"workspace": "ws-legacy"},
    ("Production", 10): {"agent": "pending", "workspace": ""},
    ("Production", 13): {"agent": "install_failed", "workspace": ""},
    ("Staging", 3): {"silent_for": timedelta(days=3)},
}


@dataclass(frozen=True)
class DemoMachine:
    resource_id: str
    name: str
    kind: str
    os: str
    subscription: str
    resource_group: str
    parent_id: str = ""
    tags: str = ""
    agent: str = "installed"
    power: str = "running"
    workspace: str = "ws-main"
    # How long before the load the agent last reported.
    silent_for: timedelta = timedelta(minutes=5)


SUBSCRIPTIONS = {
    "Production": "3f2a9c1e-0000-4000-8000-00000000a001",
    "Staging": "3f2a9c1e-0000-4000-8000-00000000b002",
    "Datacenter London": "",
}


def _azure_id(subscription: str, group: str, path: str) -> str:
    return f"/subscriptions/{SUBSCRIPTIONS[subscription]}/resourceGroups/{group}/providers/{path}"


def demo_estate() -> list[DemoMachine]:
    machines: list[DemoMachine] = []
    for subscription, count in (("Production", 14), ("Staging", 6)):
        prefix = "prod" if subscription == "Production" else "stg"
        for i in range(count):
            os_name = "windows" if i % 3 == 2 else "linux"
            role = ("web", "db", "app")[i % 3]
            group = f"{prefix}-{role}"
            name = f"{prefix}-{role}-{i:02d}"
            machines.append(
                DemoMachine(
                    _azure_id(subscription, group, f"Microsoft.Compute/virtualMachines/{name}"),
                    name,
                    "vm",
                    os_name,
                    subscription,
                    group,
                    tags=f"owner={role}-team;env={prefix}",
                    **{
                        "agent": "not_installed" if i % 5 == 4 else "installed",
                        "silent_for": timedelta(minutes=5 + i),
                        **VM_AGENT_PROBLEMS.get((subscription, i), {}),
                    },
                )
            )
        for set_index, set_name in enumerate((f"{prefix}-api", f"{prefix}-workers")):
            group = f"{prefix}-compute"
            set_id = _azure_id(subscription, group, f"Microsoft.Compute/virtualMachineScaleSets/{set_name}")
            machines.append(
                DemoMachine(set_id, set_name, "vmss", "linux", subscription, group, tags="owner=platform")
            )
            for n in range(3):
                machines.append(
                    DemoMachine(
                        f"{set_id}/virtualMachines/{n}",
                        f"{set_name}_{n}",
                        "vmss_instance",
                        "linux",
                        subscription,
                        group,
                        parent_id=set_id,
                        agent="not_installed" if (set_index, n) == (1, 2) else "installed",
                    )
                )
        cluster = f"aks-{prefix}"
        machines.append(
            DemoMachine(
                _azure_id(
                    subscription, f"{prefix}-k8s", f"Microsoft.ContainerService/managedClusters/{cluster}"
                ),
                cluster,
                "k8s_cluster",
                "",
                subscription,
                f"{prefix}-k8s",
                tags="owner=kubernetes",
            )
        )
    for i in range(8):
        os_name = "windows" if i % 2 else "linux"
        name = f"lon-{'win' if i % 2 else 'lnx'}-{i:02d}"
        machines.append(
            DemoMachine(
                f"onprem:{name}",
                name,
                "arc_machine",
                os_name,
                "Datacenter London",
                "",
                tags="site=london",
                agent="installed" if i % 3 else "not_installed",
            )
        )
    return machines


def _assessment(machine: DemoMachine, key: str, index: int) -> tuple[str, str, str] | None:
    """(status, cause, reason) Defender exported for one recommendation on one machine, or None.

    The agent recommendations are left to Posture's own evaluation of the inventory's agent columns,
    except where the organisation disabled one in policy, which Posture keeps.
    """
    agent = machine.agent == "installed"
    if key == "machine-config-vulns" and machine.kind in ("vm", "arc_machine"):
        if not agent or index % 6 == 5:
            return ("NotApplicable", "", "No scan data available on the machine")
        failed = (index * 7) % 31
        if failed == 0 or index % 4 in (0, 3):
            return ("Healthy", "", "")
        high = failed // 5
        counts = f"{high} high, {failed - high} medium" if high else f"{failed} medium"
        return ("Unhealthy", "", f"{failed} failed OS configuration rules ({counts})")
    if machine.kind == "vmss" and key == "vmss-config-vulns":
        if machine.name.endswith("workers"):
            return ("NotApplicable", "", "No scan data available on the machine")
        if key == "vmss-config-vulns" and machine.name.startswith("prod"):
            reason = "2 of 3 instances fail OS configuration rules (9 failed rules: 2 high, 7 medium)"
            return ("Unhealthy", "", reason)
        return ("Healthy", "", "")
    if machine.kind == "k8s_cluster" and key == "k8s-policy-addon":
        if machine.name == "aks-prod":
            return (
                "Unhealthy",
                "",
                "Gatekeeper controller not found: gatekeeper-system/gatekeeper-controller-manager is missing",
            )
        return ("Healthy", "", "")
    if machine.kind == "k8s_cluster" and key == "k8s-apparmor-restricted":
        if machine.name == "aks-stg":
            return (
                "Unhealthy",
                "",
                "2 containers run with AppArmor unconfined (payments/ledger-7f9c: ledger, sidecar)",
            )
        return ("Healthy", "", "")
    if key == "arc-linux-agent-installed" and machine.name == "lon-lnx-06":
        return ("NotApplicable", "OffByPolicy", "The recommendation is disabled in policy")
    return None


ASSESSMENT_KEYS = {
    "vm-agent-installed": "d1db3318-01ff-16de-29eb-28b344515626",
    "agent-health-resolved": "d62cfe2b-3ab0-4d41-980d-76803b58ca65",
    "machine-config-vulns": "c476dc48-8110-4139-91af-c8d940896b98",
    "vmss-agent-installed": "45cfe080-ceb1-a91e-9743-71551ed24e94",
    "vmss-config-vulns": "8941d121-f740-35f6-952c-6561d2b38d36",
    "k8s-policy-addon": "08e628db-e2ed-4793-bc91-d13e684401c3",
    "k8s-apparmor-restricted": "86f91051-9d6a-47c3-a07f-bd14cb214b45",
    "arc-linux-agent-installed": "720a3e77-0b9a-4fa9-98b6-ddf0fd7e32c1",
    "arc-windows-agent-installed": "27ac71b1-75c5-41c2-adc2-858f5db45b08",
}


def inventory_csv(machines: list[DemoMachine], now: datetime) -> bytes:
    """The inventory, with agents that reported shortly before `now` (the load) unless said otherwise."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for m in machines:
        installed = m.agent == "installed"
        heartbeat = (now - m.silent_for).replace(microsecond=0).isoformat() if installed else ""
        writer.writerow(
            [
                m.resource_id,
                m.name,
                m.kind,
                m.os,
                m.subscription,
                m.resource_group,
                m.parent_id,
                m.tags,
                m.power,
                m.agent if m.kind != "k8s_cluster" else "",
                "1.19.0" if installed else "",
                m.workspace if installed or m.agent == "pending" else "",
                heartbeat if m.kind != "k8s_cluster" else "",
            ]
        )
    return out.getvalue().encode()


def defender_export(machines: list[DemoMachine]) -> bytes:
    records: list[dict[str, Any]] = []
    for index, machine in enumerate(machines):
        for key, assessment_key in ASSESSMENT_KEYS.items():
            outcome = _assessment(machine, key, index)
            if outcome is None:
                continue
            code, cause, reason = outcome
            records.append(
                {
                    "id": f"{machine.resource_id}/providers/Microsoft.Security/assessments/{assessment_key}",
                    "name": assessment_key,
                    "type": "microsoft.security/assessments",
                    "subscriptionId": SUBSCRIPTIONS[machine.subscription] or "datacenter-london",
                    "resourceGroup": machine.resource_group,
                    "properties": {
                        "displayName": key,
                        "resourceDetails": {"Source": "Azure", "Id": machine.resource_id},
                        "status": {
                            "code": code,
                            "cause": cause,
                            "description": reason,
                            "firstEvaluationDate": (BASE_TIME - timedelta(days=20)).isoformat(),
                            "statusChangeDate": (BASE_TIME - timedelta(days=index % 9)).isoformat(),
                        },
                    },
                }
            )
    return json.dumps({"count": len(records), "data": records}).encode()


def _scan_sources(machines: list[DemoMachine], start: int = 0) -> tuple[list[Source], list[Source]]:
    """OS-configuration scans of the machines that have an agent: a week-old scan of some machines,
    and today's of every one."""
    older_sources: list[Source] = []
    sources: list[Source] = []
    for index, machine in enumerate(machines, start=start):
        if machine.agent != "installed" or machine.kind not in ("vm", "vmss_instance", "arc_machine"):
            continue
        share = (0.0, 0.0, 0.1, 0.25)[index % 4]
        if machine.kind == "vmss_instance":
            share = 0.2 if machine.name in ("prod-api_0", "stg-workers_1") else 0.0
        scans: list[tuple[bytes, str]] = []
        if machine.os == "linux":
            if index % 3 == 0:
                # An older, worse scan first: the newer one resolves what was fixed since.
                older = demo_scans.machine_results(machine.name, min(share + 0.3, 0.9))
                document = demo_scans.benchmark_document(BASE_TIME - timedelta(days=7), machine.name, older)
                older_sources.append(
                    Source(
                        name=f"{machine.name} scan",
                        stream=io.BytesIO(document),
                        file_format="scap",
                        resource_hint=machine.resource_id or None,
                    )
                )
            results = demo_scans.machine_results(machine.name, share)
            scans.append((demo_scans.benchmark_document(BASE_TIME, machine.name, results), "scap"))
        else:
            scans.append(
                (
                    demo_scans.security_baseline_csv(machine.name, machine.resource_id, BASE_TIME, share),
                    "securitybaseline",
                )
            )
        sources += [
            Source(
                name=f"{machine.name} scan",
                stream=io.BytesIO(document),
                file_format=file_format,
                resource_hint=machine.resource_id or None,
            )
            for document, file_format in scans
        ]
    return older_sources, sources


def _no_scans() -> dict[str, int]:
    return {"scans": 0, "findings_opened": 0, "findings_resolved": 0}


def _count_scans(results: list[IngestResult], totals: dict[str, int]) -> dict[str, int]:
    for result in results:
        counts = _imported(result)
        totals["scans"] += 0 if counts["already_imported"] else 1
        totals["findings_opened"] += counts["findings_opened"]
        totals["findings_resolved"] += counts["findings_resolved"]
    return totals


def _imported(result: IngestResult) -> dict[str, Any]:
    if result.status != "imported":
        raise RejectedFile(f"{result.file}: {result.error}")
    return result.counts


def _import(run: ImportRun, document: bytes, file_format: str) -> dict[str, Any]:
    (result,) = run.import_sources(
        [Source(name=file_format, stream=io.BytesIO(document), file_format=file_format)]
    )
    return _imported(result)


@transaction.atomic
def _governance() -> None:
    """Three towers and a rule each, before the imports, so the imports assign their findings."""
    for priority, (team_name, selector, days) in enumerate(DEMO_TOWERS, start=1):
        team, _ = Team.objects.get_or_create(name=team_name)
        GovernanceRule.objects.get_or_create(
            name=f"{team_name} own their machines",
            defaults={"priority": priority * 10, "team": team, "timeframe_days": days, **selector},
        )


def load_demo() -> dict[str, dict[str, int]]:
    """Load the estate in two import runs, each with its score snapshot stamped with its evidence's
    time: the inventory with the week-old scans, then the Defender export with today's scans, so the
    trend starts with the history they describe. Agents' heartbeats are relative to now, so a second
    load changes only those."""
    machines = demo_estate()
    name, workspace_id = WORKSPACE
    workspace, _ = Workspace.objects.get_or_create(workspace_id=workspace_id, defaults={"name": name})
    _governance()
    older_scans, scans = _scan_sources(machines)
    # The AWS and GCP machines exist from their inventories on, in the second run: all their scans go there.
    older_first, first = _scan_sources(cloud_machines(scanned_first=True))
    # Numbered after the others, as one list: which machines fail which share of rules stays as it was.
    older_cloud, cloud = _scan_sources(cloud_machines(scanned_first=False), start=len(machines))
    totals = _no_scans()
    run = ImportRun()
    inventory = _import(run, inventory_csv(machines, timezone.now()), "inventory")
    # The inventory names subscriptions only; the demo's Azure ones are known by their ids too.
    for name, native_id in SUBSCRIPTIONS.items():
        if native_id:
            Subscription.objects.filter(name=name).exclude(cloud=Cloud.AZURE, external_id=native_id).update(
                cloud=Cloud.AZURE, external_id=native_id
            )
    # London's new machines get the agent through auto-provisioning: those without it are pending.
    london = Subscription.objects.get(name="Datacenter London")
    if london.provisioning_workspace_id != workspace.pk:
        set_auto_provisioning(london, workspace)
    _count_scans(run.import_sources(older_scans), totals)
    run.finish()
    run = ImportRun()
    loaded = {
        "inventory": inventory,
        "defender": _import(run, defender_export(machines), "defender"),
        # An AWS machine a scan finds before its account's inventory arrives: in "Discovered" until then.
        "scanned before its inventory": _count_scans(run.import_sources(older_first + first), _no_scans()),
        "aws ec2": _import(run, demo_clouds.ec2_describe_instances(BASE_TIME), "aws-ec2"),
        "aws ssm": _import(run, demo_clouds.ssm_instance_information(BASE_TIME), "aws-ssm"),
        "gcloud": _import(run, demo_clouds.gcloud_instances_list(), "gcp-compute"),
        "os configuration": _count_scans(run.import_sources(older_cloud + scans + cloud), totals),
        "security hub": _import(run, demo_clouds.securityhub_findings(), "asff"),
        "prowler": _import(run, demo_clouds.prowler_gcp_findings(), "prowler-ocsf"),
    }
    run.finish()
    return loaded


def cloud_machines(*, scanned_first: bool) -> list[DemoMachine]:
    """The AWS and GCP machines to scan, named as their scanners name them (their host names); those
    scanned before their inventory carry no resource id (the scan names its host only)."""
    aws = [
        DemoMachine(
            "" if scanned_first else demo_clouds.aws_arn(index),
            machine.host,
            "arc_machine",
            machine.os,
            demo_clouds.AWS_ACCOUNT,
            "",
            agent="installed" if machine.running else "not_installed",
        )
        for index, machine in enumerate(demo_clouds.AWS_MACHINES)
        if machine.scanned_first == scanned_first
    ]
    if scanned_first:
        return aws
    gcp = [
        DemoMachine(demo_clouds.gce_resource_id(m), m.host, "arc_machine", m.os, demo_clouds.GCP_PROJECT, "")
        for m in demo_clouds.GCP_MACHINES
    ]
    return aws + gcp
