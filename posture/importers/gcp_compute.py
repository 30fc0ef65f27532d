"""`gcloud compute instances list --format=json`: a GCP project's Compute Engine instances.

gcloud prints a JSON array of instances as the Compute API returns them; the API's own list
(`{"kind": "compute#instanceList", "items": [...]}`) and aggregated list (`items` by zone) are read
too. Each instance becomes a machine of the project its self link names, identified by its self link
and its numeric instance id; its OS comes from its boot disk's licenses (`.../projects/debian-cloud/
global/licenses/debian-12-bookworm` is Linux, `windows-cloud` is Windows; a custom image without a
license leaves it unknown).
"""

import re
from collections.abc import Iterator
from typing import IO, Any

from posture.choices import Cloud, OperatingSystem, PowerState
from posture.errors import RejectedFile, shown
from posture.importers.cloud_fields import text
from posture.importers.json_input import json_type, parse_json
from posture.importers.limits import check_lengths
from posture.importers.records import CloudMachineRecord

SOURCE = "gcloud compute instances list"
SELF_LINK = re.compile(r"/projects/([a-z][-a-z0-9.:]{3,62})/zones/([a-z0-9-]+)/instances/([a-z0-9-]{1,63})$")
LICENSE = re.compile(r"/projects/([^/]+)/global/licenses/([^/]+)$")
# Compute Engine's statuses: TERMINATED is a stopped instance (it can be started again).
STATUSES = {
    "PROVISIONING": PowerState.RUNNING,
    "STAGING": PowerState.RUNNING,
    "RUNNING": PowerState.RUNNING,
    "REPAIRING": PowerState.RUNNING,
    "STOPPING": PowerState.STOPPED,
    "STOPPED": PowerState.STOPPED,
    "SUSPENDING": PowerState.STOPPED,
    "SUSPENDED": PowerState.STOPPED,
    "TERMINATED": PowerState.STOPPED,
}
# Image projects of Google's public Linux images (their licenses' projects).
LINUX_PROJECTS = {
    "almalinux-cloud",
    "centos-cloud",
    "cos-cloud",
    "debian-cloud",
    "fedora-cloud",
    "fedora-coreos-cloud",
    "opensuse-cloud",
    "oracle-linux-cloud",
    "rhel-cloud",
    "rhel-sap-cloud",
    "rocky-linux-cloud",
    "suse-cloud",
    "suse-sap-cloud",
    "ubuntu-os-cloud",
    "ubuntu-os-pro-cloud",
}


def read_gce_instances(stream: IO[bytes]) -> Iterator[CloudMachineRecord]:
    document = parse_json(stream.read())
    for position, item in enumerate(_instances(document), start=1):
        yield _record(position, item)


def _instances(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    items = document.get("items") if isinstance(document, dict) else None
    kind = text(document.get("kind")) if isinstance(document, dict) else ""
    if kind == "compute#instanceList" and isinstance(items, list):
        return items
    if kind == "compute#instanceAggregatedList" and isinstance(items, dict):
        return [
            instance
            for scope in items.values()
            if isinstance(scope, dict)
            for instance in scope.get("instances") or []
        ]
    raise RejectedFile(
        "not a `gcloud compute instances list --format=json` output: expected a JSON array of "
        "instances (or the Compute API's instance list)"
    )


def _record(position: int, item: Any) -> CloudMachineRecord:
    where = f"instance {position}"
    if not isinstance(item, dict):
        raise RejectedFile(f"{where}: expected an object, found {json_type(item)}")
    instance_id = str(item.get("id", "")).strip()
    if not instance_id.isdigit():
        raise RejectedFile(f"{where}: id {shown(item.get('id'))} is not a Compute Engine instance id")
    self_link = text(item.get("selfLink"))
    parts = SELF_LINK.search(self_link)
    if parts is None:
        raise RejectedFile(f"{where}: selfLink {shown(self_link)} names no project, zone and instance")
    project, zone, name = parts.groups()
    status = text(item.get("status"))
    if status not in STATUSES:
        raise RejectedFile(f"{where}: status {shown(status)} is not a Compute Engine instance status")
    labels = item.get("labels") or {}
    if not isinstance(labels, dict):
        raise RejectedFile(f"{where}: 'labels' is not an object")
    licenses = _boot_licenses(where, item.get("disks"))
    machine_type = text(item.get("machineType")).rsplit("/", 1)[-1]
    record = CloudMachineRecord(
        position=position,
        source=SOURCE,
        cloud=Cloud.GCP,
        account_id=project,
        native_id=instance_id,
        resource_id=f"//compute.googleapis.com/projects/{project}/zones/{zone}/instances/{name}",
        name=name,
        os=_os(licenses),
        power_state=STATUSES[status],
        tags={str(k): str(v) for k, v in labels.items()},
        # A VM's host name is its instance name; its internal DNS name adds zone and project.
        host_names=tuple(
            n for n in (name, f"{name}.{zone}.c.{project}.internal", text(item.get("hostname"))) if n
        ),
        identifiers=(("gce_instance_id", instance_id), ("self_link", self_link)),
        details={
            "zone": zone,
            "machine_type": machine_type,
            "status": status,
            "licenses": [license_name for _, license_name in licenses],
        },
    )
    check_lengths(record, where)
    return record


def _boot_licenses(where: str, disks: Any) -> list[tuple[str, str]]:
    """(project, license) of the boot disk's licenses."""
    if disks is None:
        return []
    if not isinstance(disks, list):
        raise RejectedFile(f"{where}: 'disks' is not a list")
    for disk in disks:
        if isinstance(disk, dict) and disk.get("boot") is True:
            found = (LICENSE.search(text(url)) for url in disk.get("licenses") or [])
            return [(m.group(1), m.group(2)) for m in found if m]
    return []


def _os(licenses: list[tuple[str, str]]) -> str:
    projects = {project for project, _ in licenses}
    if any(project.startswith("windows") for project in projects):
        return OperatingSystem.WINDOWS
    if projects & LINUX_PROJECTS:
        return OperatingSystem.LINUX
    return OperatingSystem.UNKNOWN
