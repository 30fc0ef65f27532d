"""Defender's multicloud resources on the machines Posture knows from the clouds' own inventories.

Defender names an AWS machine by an Azure id of its connector's (`.../securityconnectors/<c>/
securityentitydata/aws-ec2-instance-<instance id>-<region>`) and gives its ARN as the native id: an
assessment of such an id lands on the machine the EC2 inventory listed (by ARN, else by instance id),
and the Defender id is kept as one of the machine's ids, so the next export lands there at once.
"""

import re

from posture.importers.records import AssessmentRecord
from posture.matching import identifier_key
from posture.models import Resource, ResourceIdentifier, resource_key

DEFENDER_ID = "defender_id"
EC2_INSTANCE = re.compile(r"/securityentitydata/aws-ec2-instance-(i-[0-9a-f]{8,17})-", re.IGNORECASE)


def multicloud_machines(unknown: list[tuple[AssessmentRecord, str]]) -> dict[str, Resource]:
    """The known machines of records whose resource ids name no resource, by their resource keys."""
    wanted: dict[str, str] = {}  # identifier or resource key -> the record's resource key
    for record, key in unknown:
        wanted[identifier_key(DEFENDER_ID, record.resource_id)] = key
        if record.native_resource_id:
            wanted[resource_key(record.native_resource_id)] = key
            wanted[identifier_key("arn", record.native_resource_id)] = key
        if instance := EC2_INSTANCE.search(record.resource_id):
            wanted[identifier_key("ec2_instance_id", instance.group(1))] = key
    if not wanted:
        return {}
    found: dict[str, Resource] = {}
    for resource in Resource.objects.filter(resource_key__in=wanted):
        found.setdefault(wanted[resource.resource_key], resource)
    for identifier in ResourceIdentifier.objects.filter(key__in=wanted).select_related("resource"):
        found.setdefault(wanted[identifier.key], identifier.resource)
    ids = {record.resource_id.lower(): record.resource_id for record, key in unknown if key in found}
    known = set(
        ResourceIdentifier.objects.filter(key__in=[identifier_key(DEFENDER_ID, i) for i in ids]).values_list(
            "key", flat=True
        )
    )
    ResourceIdentifier.objects.bulk_create(
        [
            ResourceIdentifier(resource=found[resource_key(value)], key=key, value=value, kind=DEFENDER_ID)
            for value in ids.values()
            if (key := identifier_key(DEFENDER_ID, value)) not in known
        ]
    )
    return found
