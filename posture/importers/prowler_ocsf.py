"""Prowler's OCSF report (`prowler <provider> --output-formats json-ocsf`): a JSON array of OCSF
Detection Findings (class 2004) for AWS, Azure or GCP, one a check result on one resource or more."""

from collections.abc import Iterator
from typing import IO, Any

from posture.choices import Cloud
from posture.errors import RejectedFile, shown
from posture.importers.cloud_fields import text
from posture.importers.json_input import json_type, parse_json
from posture.importers.limits import check_lengths
from posture.importers.records import CloudFindingRecord

DETECTION_FINDING = 2004
STATUSES = {"PASS": "passed", "FAIL": "failed", "MANUAL": "manual", "MUTED": "not_available"}
PROVIDERS = {"aws": Cloud.AWS, "azure": Cloud.AZURE, "gcp": Cloud.GCP}


def read_prowler_ocsf(stream: IO[bytes]) -> Iterator[CloudFindingRecord]:
    document = parse_json(stream.read())
    if not isinstance(document, list):
        raise RejectedFile("not a Prowler OCSF report: expected a JSON array of OCSF findings")
    position = 0
    for number, finding in enumerate(document, start=1):
        where = f"finding {number}"
        if not isinstance(finding, dict):
            raise RejectedFile(f"{where}: expected an object, found {json_type(finding)}")
        if finding.get("class_uid") != DETECTION_FINDING:
            raise RejectedFile(
                f"{where}: class_uid {shown(finding.get('class_uid'))} is not a Detection Finding (2004)"
            )
        cloud = _object(finding.get("cloud"))
        provider = text(cloud.get("provider")).lower()
        if provider not in PROVIDERS:
            raise RejectedFile(f"{where}: cloud.provider {shown(provider)} is not aws, azure or gcp")
        status = text(finding.get("status_code")).upper()
        if status not in STATUSES:
            raise RejectedFile(f"{where}: status_code {shown(status)} is not PASS, FAIL, MANUAL or MUTED")
        info = _object(finding.get("finding_info"))
        check = text(_object(finding.get("metadata")).get("event_code"))
        if not check:
            raise RejectedFile(f"{where}: metadata.event_code (the check) is missing")
        resources = finding.get("resources")
        if not isinstance(resources, list) or not resources:
            raise RejectedFile(f"{where}: 'resources' must list at least one resource")
        for resource in resources:
            resource = _object(resource)
            uid = text(resource.get("uid"))
            if not uid:
                raise RejectedFile(f"{where}: a resource without a 'uid'")
            position += 1
            record = CloudFindingRecord(
                position=position,
                tool="prowler",
                uid=text(info.get("uid")),
                check_id=check,
                title=text(info.get("title")),
                severity=text(finding.get("severity")).lower(),
                status=STATUSES[status],
                cloud=PROVIDERS[provider],
                account_id=text(_object(cloud.get("account")).get("uid")),
                resource_uid=uid,
                resource_type=text(resource.get("type")),
                observed_at=text(info.get("created_time_dt")),
            )
            check_lengths(record, where)
            yield record


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
