"""The one service that persists importer records: one file, one transaction, set-based writes.

A file either imports whole or changes nothing: records are read lazily inside the transaction, so a
bad record anywhere rolls back what the rows before it wrote.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import BinaryIO, TypeVar

from django.db import transaction
from django.utils import timezone

from posture.errors import RejectedFile
from posture.importers.arg import read_assessments
from posture.importers.azure_ids import parse_resource_id
from posture.importers.detect import FORMATS, detect_format
from posture.importers.inventory import read_inventory
from posture.importers.records import AssessmentRecord, ResourceRecord
from posture.models import Resource, Subscription, resource_key
from recommendations.models import Assessment, Recommendation

CHUNK = 1000
T = TypeVar("T")


@dataclass
class IngestResult:
    file: str
    format: str | None
    status: str
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def ingest_file(path: Path, *, file_format: str | None = None) -> IngestResult:
    """Import one file; a rejected file comes back with its reason and leaves the database as it was."""
    try:
        with path.open("rb") as stream:
            detected = file_format or detect_format(stream.read(8192))
            stream.seek(0)
            counts = ingest_stream(stream, file_format=detected)
    except RejectedFile as error:
        return IngestResult(file=str(path), format=file_format, status="rejected", error=error.message)
    except OSError as error:
        return IngestResult(
            file=str(path),
            format=file_format,
            status="rejected",
            error=f"cannot read the file: {error.strerror}",
        )
    return IngestResult(file=str(path), format=detected, status="imported", counts=counts)


@transaction.atomic
def ingest_stream(stream: BinaryIO, *, file_format: str) -> dict[str, int]:
    if file_format == "inventory":
        return dict(_persist_inventory(read_inventory(stream)))
    if file_format == "defender":
        return dict(_persist_assessments(read_assessments(stream)))
    raise RejectedFile(f"unknown format {file_format!r}; one of: {', '.join(FORMATS)}")


def _chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _subscriptions(names: set[str], counts: Counter[str], *, external: bool) -> dict[str, Subscription]:
    """Subscriptions by name or external id, creating the missing ones (named by the value given)."""
    found: dict[str, Subscription] = {}
    for sub in Subscription.objects.filter(name__in=names):
        found[sub.name] = sub
    for sub in Subscription.objects.filter(external_id__in=names - found.keys()):
        found[sub.external_id or ""] = sub
    for name in sorted(names - found.keys()):
        found[name] = Subscription.objects.create(name=name, external_id=name if external else None)
        counts["subscriptions_created"] += 1
    return found


INVENTORY_FIELDS = (
    "name",
    "kind",
    "os",
    "subscription_id",
    "resource_group",
    "tags",
    "power_state",
    "agent_state",
    "agent_version",
    "workspace_id",
    "last_heartbeat",
)


def _persist_inventory(records: Iterable[ResourceRecord]) -> Counter[str]:
    counts: Counter[str] = Counter(
        resources_created=0, resources_changed=0, resources_unchanged=0, subscriptions_created=0
    )
    now = timezone.now()
    total = 0
    created_keys: set[str] = set()
    changed_keys: set[str] = set()
    parent_links: dict[str, tuple[str, int]] = {}
    for chunk in _chunks(records):
        subs = _subscriptions({r.subscription for r in chunk}, counts, external=False)
        keys = [resource_key(r.resource_id) for r in chunk]
        existing = {r.resource_key: r for r in Resource.objects.filter(resource_key__in=keys)}
        to_create: list[Resource] = []
        to_update: list[Resource] = []
        for record, key in zip(chunk, keys, strict=True):
            values = {
                "name": record.name,
                "kind": record.kind,
                "os": record.os,
                "subscription_id": subs[record.subscription].pk,
                "resource_group": record.resource_group,
                "tags": record.tags,
                "power_state": record.power_state,
                "agent_state": record.agent_state,
                "agent_version": record.agent_version,
                "workspace_id": record.workspace_id,
                "last_heartbeat": record.last_heartbeat,
            }
            if record.parent_id:
                parent_links[key] = (resource_key(record.parent_id), record.line)
            resource = existing.get(key)
            if resource is None:
                to_create.append(Resource(resource_id=record.resource_id, resource_key=key, **values))
            elif any(getattr(resource, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(resource, name, value)
                resource.updated_at = now
                to_update.append(resource)
                changed_keys.add(key)
        Resource.objects.bulk_create(to_create)
        Resource.objects.bulk_update(to_update, [*INVENTORY_FIELDS, "updated_at"])
        created_keys.update(r.resource_key for r in to_create)
        total += len(chunk)
    # An instance created in this file and linked to its parent afterwards is new, not changed.
    changed_keys |= _link_parents(parent_links, strict=True) - created_keys
    counts["resources_created"] = len(created_keys)
    counts["resources_changed"] = len(changed_keys)
    counts["resources_unchanged"] = total - counts["resources_created"] - len(changed_keys)
    return counts


def _link_parents(links: dict[str, tuple[str, int]], *, strict: bool) -> set[str]:
    """Point scale-set instances at their scale set; returns the keys of the instances that changed."""
    changed: set[str] = set()
    for chunk in _chunks(list(links.items())):
        child_keys = [child for child, _ in chunk]
        parent_keys = {parent for _, (parent, _) in chunk}
        parents = {
            r.resource_key: r
            for r in Resource.objects.filter(resource_key__in=parent_keys).only("id", "resource_key", "kind")
        }
        children = {r.resource_key: r for r in Resource.objects.filter(resource_key__in=child_keys)}
        to_update = []
        for child_key, (parent_key, line) in chunk:
            parent = parents.get(parent_key)
            if parent is None or parent.kind != "vmss":
                if strict:
                    problem = (
                        "is not a known resource" if parent is None else f"is a {parent.kind}, not a vmss"
                    )
                    raise RejectedFile(f"line {line}: parent_id {parent_key!r} {problem}")
                continue
            child = children[child_key]
            if child.parent_id != parent.pk:
                child.parent_id = parent.pk
                child.updated_at = timezone.now()
                to_update.append(child)
                changed.add(child_key)
        Resource.objects.bulk_update(to_update, ["parent", "updated_at"])
    return changed


def _recommendation_index() -> tuple[dict[str, Recommendation], dict[str, Recommendation]]:
    by_key: dict[str, Recommendation] = {}
    by_name: dict[str, Recommendation] = {}
    for rec in Recommendation.objects.all():
        if rec.assessment_key:
            by_key[rec.assessment_key.lower()] = rec
        for name in [rec.display_name, *rec.other_names]:
            by_name[name.strip().lower()] = rec
    return by_key, by_name


ASSESSMENT_FIELDS = ("status", "cause", "reason", "first_evaluated", "status_changed", "source")


def _persist_assessments(records: Iterable[AssessmentRecord]) -> Counter[str]:
    counts: Counter[str] = Counter(
        assessments_created=0,
        assessments_changed=0,
        assessments_unchanged=0,
        resources_created=0,
        subscriptions_created=0,
        skipped_unknown_recommendation=0,
        skipped_unsupported_resource=0,
    )
    by_key, by_name = _recommendation_index()
    now = timezone.now()
    seen: set[tuple[str, int]] = set()
    parent_links: dict[str, tuple[str, int]] = {}
    for chunk in _chunks(records):
        matched: list[tuple[AssessmentRecord, Recommendation, str]] = []
        for record in chunk:
            rec = by_key.get(record.assessment_key) or by_name.get(record.display_name.lower())
            if rec is None:
                counts["skipped_unknown_recommendation"] += 1
                continue
            key = resource_key(record.resource_id)
            if (key, rec.pk) in seen:
                raise RejectedFile(
                    f"record {record.position}: a second assessment of {rec.display_name!r} "
                    f"for {record.resource_id}"
                )
            seen.add((key, rec.pk))
            matched.append((record, rec, key))
        resources = _ensure_resources(matched, counts, parent_links)
        existing = {
            (a.resource_id, a.recommendation_id): a
            for a in Assessment.objects.filter(resource__in=list(resources.values()))
        }
        to_create: list[Assessment] = []
        to_update: list[Assessment] = []
        for record, rec, key in matched:
            resource = resources.get(key)
            if resource is None:
                counts["skipped_unsupported_resource"] += 1
                continue
            current = existing.get((resource.pk, rec.pk))
            status_changed = record.status_changed or (
                current.status_changed if current and current.status == record.status else now
            )
            values = {
                "status": record.status,
                "cause": record.cause,
                "reason": record.reason,
                "first_evaluated": record.first_evaluated or (current.first_evaluated if current else now),
                "status_changed": status_changed,
                "source": "defender_export",
            }
            if current is None:
                to_create.append(Assessment(resource=resource, recommendation=rec, **values))
            elif any(getattr(current, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(current, name, value)
                current.updated_at = now
                to_update.append(current)
            else:
                counts["assessments_unchanged"] += 1
        Assessment.objects.bulk_create(to_create)
        Assessment.objects.bulk_update(to_update, [*ASSESSMENT_FIELDS, "updated_at"])
        counts["assessments_created"] += len(to_create)
        counts["assessments_changed"] += len(to_update)
    _link_parents(parent_links, strict=False)
    return counts


def _ensure_resources(
    matched: list[tuple[AssessmentRecord, Recommendation, str]],
    counts: Counter[str],
    parent_links: dict[str, tuple[str, int]],
) -> dict[str, Resource]:
    """The resources the records name; unknown ones are created from what their ids say.

    An unknown resource of a type Posture does not score (a storage account) is left out.
    """
    keys = {key for _, _, key in matched}
    resources = {r.resource_key: r for r in Resource.objects.filter(resource_key__in=keys)}
    missing = {
        key: record
        for record, _, key in matched
        if key not in resources and parse_resource_id(record.resource_id).kind is not None
    }
    if not missing:
        return resources
    subs = _subscriptions({r.subscription_id for r in missing.values()}, counts, external=True)
    to_create = []
    for key, record in missing.items():
        parsed = parse_resource_id(record.resource_id)
        assert parsed.kind is not None  # filtered above
        to_create.append(
            Resource(
                resource_id=record.resource_id,
                resource_key=key,
                name=parsed.name,
                kind=parsed.kind,
                subscription=subs[record.subscription_id],
                resource_group=record.resource_group,
            )
        )
        if parsed.parent_id:
            parent_links[key] = (resource_key(parsed.parent_id), record.position)
    Resource.objects.bulk_create(to_create)
    counts["resources_created"] += len(to_create)
    # bulk_create sets primary keys on PostgreSQL and SQLite 3.35+, but re-read to be certain.
    return {r.resource_key: r for r in Resource.objects.filter(resource_key__in=keys)}
