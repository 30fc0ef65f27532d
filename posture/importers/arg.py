"""Defender assessments as JSON: Azure Resource Graph, the REST API and `az security assessment list`.

- Resource Graph (`securityresources | where type == "microsoft.security/assessments"`): a bare list of
  records or `az graph query`'s object with a `data` list;
- the REST API's list response (`GET .../providers/Microsoft.Security/assessments`, as `az rest` and
  scripts save it): `{"value": [...], "nextLink": ...}`, or several such pages in one JSON list;
- `az security assessment list`: a list of the same records with `properties` flattened into them.
Resource Graph spells the resource id `properties.resourceDetails.Id` (capital I); the REST API spells
it `id`; both are read.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from posture.choices import AssessmentStatus
from posture.errors import RejectedFile, shown
from posture.importers.azure_ids import parse_resource_id
from posture.importers.json_input import json_type
from posture.importers.limits import check_lengths
from posture.importers.records import AssessmentRecord

ASSESSMENT_TYPE = "microsoft.security/assessments"
STATUS_CODES = {
    "healthy": AssessmentStatus.HEALTHY,
    "unhealthy": AssessmentStatus.UNHEALTHY,
    "notapplicable": AssessmentStatus.NOT_APPLICABLE,
}


def assessments_of(document: Any) -> Iterator[AssessmentRecord]:
    """The records of a decoded Resource Graph, REST or az CLI document."""
    for position, item in enumerate(export_items(document), start=1):
        yield _record(position, item)


NOT_ASSESSMENTS = (
    "not a Defender assessments export: expected a JSON list of assessments, an object with a "
    "'data' list (az graph query) or a 'value' list (the REST API's response)"
)


def export_items(document: Any, refusal: str = NOT_ASSESSMENTS) -> list[Any]:
    """The records of a Resource Graph (`data`), REST (`value`, pages too) or bare-list document;
    anything else is refused with `refusal`."""
    if isinstance(document, dict):
        records = document.get("data", document.get("value"))
        if not isinstance(records, list):
            raise RejectedFile(refusal)
        return records
    if not isinstance(document, list):
        raise RejectedFile(refusal)
    if document and all(isinstance(page, dict) and isinstance(page.get("value"), list) for page in document):
        # Pages of the REST API's list response saved together (each followed `nextLink`).
        return [item for page in document for item in page["value"]]
    return document


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _record(position: int, item: Any) -> AssessmentRecord:
    where = f"record {position}"
    if not isinstance(item, dict):
        raise RejectedFile(f"{where}: expected an object, found {json_type(item)}")
    record_type = _text(item.get("type"))
    if record_type and record_type.lower() != ASSESSMENT_TYPE:
        raise RejectedFile(f"{where}: type {shown(record_type)} is not {ASSESSMENT_TYPE}")
    properties = item.get("properties")
    if properties is None and isinstance(item.get("status"), dict):
        properties = item  # az security assessment list: the properties flattened into the record
    if not isinstance(properties, dict):
        raise RejectedFile(f"{where}: 'properties' is missing")
    details = properties.get("resourceDetails")
    if not isinstance(details, dict):
        raise RejectedFile(f"{where}: 'properties.resourceDetails' is missing")
    resource_id = _text(details.get("Id") or details.get("id") or details.get("ResourceId"))
    if not resource_id:
        raise RejectedFile(f"{where}: 'properties.resourceDetails.Id' is missing")
    status = properties.get("status")
    if not isinstance(status, dict):
        raise RejectedFile(f"{where}: 'properties.status' is missing")
    code = _text(status.get("code"))
    if code.lower() not in STATUS_CODES:
        raise RejectedFile(
            f"{where}: status code {shown(code)} is not one of Healthy, Unhealthy, NotApplicable"
        )
    assessment_key = _text(item.get("name"))
    display_name = _text(properties.get("displayName"))
    if not assessment_key and not display_name:
        raise RejectedFile(f"{where}: neither 'name' (assessment key) nor 'properties.displayName' is set")
    parsed = parse_resource_id(resource_id)
    subscription_id = _text(item.get("subscriptionId")) or parsed.subscription_id
    if not subscription_id:
        raise RejectedFile(f"{where}: no subscriptionId, and the resource id names none")
    record = AssessmentRecord(
        position=position,
        assessment_key=assessment_key.lower(),
        display_name=display_name,
        resource_id=resource_id,
        subscription_id=subscription_id,
        resource_group=_text(item.get("resourceGroup")) or parsed.resource_group,
        status=STATUS_CODES[code.lower()],
        cause=_text(status.get("cause")),
        reason=_text(status.get("description")),
        first_evaluated=_timestamp(where, "firstEvaluationDate", status.get("firstEvaluationDate")),
        status_changed=_timestamp(where, "statusChangeDate", status.get("statusChangeDate")),
        native_resource_id=_text(details.get("NativeResourceId") or details.get("nativeResourceId")),
    )
    check_lengths(record, where)
    return record


def _timestamp(where: str, name: str, value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RejectedFile(f"{where}: {name} {shown(text)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RejectedFile(f"{where}: {name} {shown(text)} has no UTC offset")
    return moment
