"""`aws ec2 describe-instances --output json`: an AWS account's EC2 instances.

The output is `{"Reservations": [{"OwnerId": <account>, "Instances": [...]}, ...]}`; each instance
becomes a machine of its owner account, named by its `Name` tag (else its instance id), identified by
its ARN (`arn:aws:ec2:<region>:<account>:instance/<id>`) and its instance id. Terminated instances
are passed on marked so (the pipeline counts them, they are no machine any more).
"""

import re
from collections.abc import Iterator
from typing import IO, Any

from posture.choices import Cloud, OperatingSystem, PowerState
from posture.errors import RejectedFile, shown
from posture.importers.cloud_fields import aws_tags, moment, text
from posture.importers.json_input import json_type, parse_json
from posture.importers.limits import check_lengths
from posture.importers.records import CloudMachineRecord

SOURCE = "aws ec2 describe-instances"
ACCOUNT = re.compile(r"^\d{12}$")
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
# us-east-1a -> us-east-1; local and wavelength zones (us-west-2-lax-1a) keep their parent region.
REGION = re.compile(r"^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+)")
# EC2 states: pending and running are on; stopping and stopped off; shutting-down and terminated gone.
STATES = {
    "pending": PowerState.RUNNING,
    "running": PowerState.RUNNING,
    "stopping": PowerState.STOPPED,
    "stopped": PowerState.STOPPED,
    "shutting-down": "terminated",
    "terminated": "terminated",
}


def read_ec2_instances(stream: IO[bytes]) -> Iterator[CloudMachineRecord]:
    document = parse_json(stream.read())
    reservations = document.get("Reservations") if isinstance(document, dict) else None
    if not isinstance(reservations, list):
        raise RejectedFile(
            "not an `aws ec2 describe-instances` output: expected an object with a 'Reservations' list"
        )
    position = 0
    for number, reservation in enumerate(reservations, start=1):
        where = f"reservation {number}"
        if not isinstance(reservation, dict):
            raise RejectedFile(f"{where}: expected an object, found {json_type(reservation)}")
        owner = text(reservation.get("OwnerId"))
        if not ACCOUNT.match(owner):
            raise RejectedFile(f"{where}: OwnerId {shown(owner)} is not a 12-digit AWS account id")
        instances = reservation.get("Instances")
        if not isinstance(instances, list):
            raise RejectedFile(f"{where}: 'Instances' is not a list")
        for instance in instances:
            position += 1
            yield _record(position, f"{where}, instance {position}", owner, instance)


def _record(position: int, where: str, owner: str, instance: Any) -> CloudMachineRecord:
    if not isinstance(instance, dict):
        raise RejectedFile(f"{where}: expected an object, found {json_type(instance)}")
    instance_id = text(instance.get("InstanceId"))
    if not INSTANCE_ID.match(instance_id):
        raise RejectedFile(f"{where}: InstanceId {shown(instance_id)} is not an EC2 instance id")
    where = f"instance {instance_id}"
    placement = _object(instance.get("Placement"))
    zone = text(placement.get("AvailabilityZone"))
    region = REGION.match(zone)
    if region is None:
        raise RejectedFile(f"{where}: Placement.AvailabilityZone {shown(zone)} names no region")
    state = _object(instance.get("State"))
    state_name = text(state.get("Name")).lower()
    if state_name not in STATES:
        raise RejectedFile(f"{where}: State.Name {shown(state_name)} is not an EC2 instance state")
    tags = aws_tags(where, instance.get("Tags"))
    platform_details = text(instance.get("PlatformDetails"))
    # `Platform` is only present, as "windows", on Windows instances; PlatformDetails names the
    # billing product ("Linux/UNIX", "Windows", "Red Hat Enterprise Linux", ...).
    windows = text(instance.get("Platform")).lower() == "windows" or "windows" in platform_details.lower()
    arn = f"arn:aws:ec2:{region.group(1)}:{owner}:instance/{instance_id}"
    private_dns = text(instance.get("PrivateDnsName"))
    public_dns = text(instance.get("PublicDnsName"))
    record = CloudMachineRecord(
        position=position,
        source=SOURCE,
        cloud=Cloud.AWS,
        account_id=owner,
        native_id=instance_id,
        resource_id=arn,
        name=tags.get("Name") or instance_id,
        os=OperatingSystem.WINDOWS if windows else OperatingSystem.LINUX,
        power_state=STATES[state_name],
        tags=tags,
        host_names=tuple(n for n in (private_dns, private_dns.split(".")[0], public_dns) if n),
        identifiers=(("ec2_instance_id", instance_id), ("arn", arn)),
        details={
            "region": region.group(1),
            "availability_zone": zone,
            "instance_type": text(instance.get("InstanceType")),
            "image_id": text(instance.get("ImageId")),
            "platform_details": platform_details,
            "state": state_name,
            "private_ip": text(instance.get("PrivateIpAddress")),
            "private_dns_name": private_dns,
            "launch_time": moment(where, "LaunchTime", instance.get("LaunchTime")),
        },
    )
    check_lengths(record, where)
    return record


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
