"""`aws ssm describe-instance-information --output json`: the SSM agent's managed state of machines.

`{"InstanceInformationList": [...]}`: per machine its instance id (`i-...` for EC2, `mi-...` for a
hybrid managed server), ping status and last ping, agent version, platform type, name and version,
computer name. It names machines, it does not list an account's estate (it does not say the account),
so its records are matched to machines by instance id, then by computer name.
"""

import re
from collections.abc import Iterator
from typing import IO, Any

from posture.choices import Cloud, OperatingSystem
from posture.errors import RejectedFile, shown
from posture.importers.cloud_fields import moment, text
from posture.importers.json_input import json_type, parse_json
from posture.importers.limits import check_lengths
from posture.importers.records import CloudMachineRecord

SOURCE = "aws ssm describe-instance-information"
INSTANCE_ID = re.compile(r"^m?i-[0-9a-f]{8,17}$")
PLATFORMS = {"linux": OperatingSystem.LINUX, "windows": OperatingSystem.WINDOWS, "macos": ""}


def read_ssm_instances(stream: IO[bytes]) -> Iterator[CloudMachineRecord]:
    document = parse_json(stream.read())
    items = document.get("InstanceInformationList") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise RejectedFile(
            "not an `aws ssm describe-instance-information` output: expected an object with an "
            "'InstanceInformationList' list"
        )
    for position, item in enumerate(items, start=1):
        yield _record(position, item)


def _record(position: int, item: Any) -> CloudMachineRecord:
    where = f"instance {position}"
    if not isinstance(item, dict):
        raise RejectedFile(f"{where}: expected an object, found {json_type(item)}")
    instance_id = text(item.get("InstanceId"))
    if not INSTANCE_ID.match(instance_id):
        raise RejectedFile(f"{where}: InstanceId {shown(instance_id)} is not an EC2 or managed instance id")
    where = f"instance {instance_id}"
    platform = text(item.get("PlatformType"))
    if platform.lower() not in PLATFORMS and platform:
        raise RejectedFile(f"{where}: PlatformType {shown(platform)} is not Linux, Windows or MacOS")
    computer = text(item.get("ComputerName"))
    record = CloudMachineRecord(
        position=position,
        source=SOURCE,
        cloud=Cloud.AWS,
        account_id="",
        native_id=instance_id,
        resource_id="",
        # A hybrid server's activation `Name`, else its computer name, else its id.
        name=text(item.get("Name")) or computer.split(".")[0] or instance_id,
        os=PLATFORMS.get(platform.lower(), ""),
        host_names=tuple(n for n in (computer, computer.split(".")[0]) if n),
        identifiers=(("ec2_instance_id", instance_id),),
        details={
            "ping_status": text(item.get("PingStatus")),
            "last_ping": moment(where, "LastPingDateTime", item.get("LastPingDateTime")),
            "agent_version": text(item.get("AgentVersion")),
            "is_latest_version": item.get("IsLatestVersion") is True,
            "platform_type": platform,
            "platform_name": text(item.get("PlatformName")),
            "platform_version": text(item.get("PlatformVersion")),
            "computer_name": computer,
            "resource_type": text(item.get("ResourceType")),
            "ip_address": text(item.get("IPAddress")),
        },
        is_inventory=False,
    )
    check_lengths(record, where)
    return record
