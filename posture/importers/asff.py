"""AWS Security Hub findings in the AWS Security Finding Format (ASFF, schema 2018-10-08).

`aws securityhub get-findings` prints `{"Findings": [...]}`; Security Hub's exports (EventBridge
events to S3, the console's JSON) hold a bare list of findings or an event's `detail.findings`. A
finding names one or more resources: each (finding, resource) becomes a record.
"""

from collections.abc import Iterator
from typing import IO, Any

from posture.choices import Cloud
from posture.errors import RejectedFile, shown
from posture.importers.cloud_fields import moment, text
from posture.importers.json_input import json_type, parse_json
from posture.importers.limits import check_lengths
from posture.importers.records import CloudFindingRecord

SCHEMA = "2018-10-08"
# Compliance.Status, else (findings outside a standard) the record state.
STATUSES = {"PASSED": "passed", "FAILED": "failed", "WARNING": "warning", "NOT_AVAILABLE": "not_available"}


def read_asff(stream: IO[bytes]) -> Iterator[CloudFindingRecord]:
    document = parse_json(stream.read())
    findings = _findings(document)
    position = 0
    for number, finding in enumerate(findings, start=1):
        where = f"finding {number}"
        if not isinstance(finding, dict):
            raise RejectedFile(f"{where}: expected an object, found {json_type(finding)}")
        if text(finding.get("SchemaVersion")) != SCHEMA:
            raise RejectedFile(
                f"{where}: SchemaVersion {shown(finding.get('SchemaVersion'))} is not ASFF {SCHEMA}"
            )
        uid = text(finding.get("Id"))
        account = text(finding.get("AwsAccountId"))
        if not uid or not account:
            raise RejectedFile(f"{where}: 'Id' and 'AwsAccountId' are required")
        resources = finding.get("Resources")
        if not isinstance(resources, list) or not resources:
            raise RejectedFile(f"{where}: 'Resources' must list at least one resource")
        for resource in resources:
            if not isinstance(resource, dict) or not text(resource.get("Id")):
                raise RejectedFile(f"{where}: a resource without an 'Id'")
            position += 1
            yield _record(position, where, finding, account, resource)


def _findings(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if isinstance(document.get("Findings"), list):
            return list(document["Findings"])
        detail = document.get("detail")
        if isinstance(detail, dict) and isinstance(detail.get("findings"), list):
            return list(detail["findings"])
    raise RejectedFile(
        'not AWS Security Hub findings: expected `aws securityhub get-findings` output ({"Findings": '
        "[...]}), a list of ASFF findings, or a Security Hub event with detail.findings"
    )


def _record(
    position: int, where: str, finding: dict[str, Any], account: str, resource: dict[str, Any]
) -> CloudFindingRecord:
    fields = _object(finding.get("ProductFields"))
    compliance = _object(finding.get("Compliance"))
    severity = _object(finding.get("Severity"))
    status = text(compliance.get("Status")).upper()
    if status and status not in STATUSES:
        raise RejectedFile(f"{where}: Compliance.Status {shown(status)} is not an ASFF compliance status")
    types = finding.get("Types")
    types = types if isinstance(types, list) else []
    # Consolidated control findings carry SecurityControlId; per-standard ones ProductFields.ControlId.
    generator = text(finding.get("GeneratorId"))
    if generator.startswith("security-control/") or "/v/" in generator:
        generator = generator.rsplit("/", 1)[-1]  # a standard's control: its id (SSM.1)
    check = text(compliance.get("SecurityControlId")) or text(fields.get("ControlId")) or generator
    label = text(severity.get("Label")) or text(fields.get("aws/securityhub/SeverityLabel"))
    record = CloudFindingRecord(
        position=position,
        tool="securityhub",
        uid=text(finding.get("Id")),
        check_id=check,
        title=text(finding.get("Title")),
        severity=label.lower(),
        # A finding outside any standard (GuardDuty, Inspector, a partner's) has no compliance status:
        # it is a failed check while active.
        status=STATUSES.get(status, "failed" if text(finding.get("RecordState")) != "ARCHIVED" else "passed"),
        cloud=Cloud.AWS,
        account_id=account,
        resource_uid=text(resource.get("Id")),
        resource_type=text(resource.get("Type")),
        types=tuple(text(t) for t in types if text(t)),
        observed_at=moment(where, "UpdatedAt", finding.get("UpdatedAt")),
    )
    check_lengths(record, where)
    return record


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
