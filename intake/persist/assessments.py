"""Persists Defender assessment records: matched to the catalog, attached to (or creating) resources."""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from intake.persist.bulk import chunks
from intake.persist.inventory import find_or_create_subscriptions, link_parents
from intake.persist.multicloud import multicloud_machines
from intake.stages import Evaluations, Persisted
from posture.errors import RejectedFile
from posture.importers.azure_ids import parse_resource_id
from posture.importers.records import AssessmentRecord
from posture.models import Resource, Subscription, resource_key
from posture.provisioning import mark_pending
from recommendations.evaluators.verdicts import DECIDED_CAUSES, EVIDENCE_SOURCES
from recommendations.models import Assessment, Recommendation


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
UPDATED_FIELDS = (*ASSESSMENT_FIELDS, "held_status", "held_reason", "updated_at")


def persist_assessments(records: Iterable[AssessmentRecord]) -> Persisted:
    """Write the statuses Defender exported; the resources whose assessments changed are the evidence
    governance follows, and new machines pending an agent are evaluated as such."""
    counts: Counter[str] = Counter(
        assessments_created=0,
        assessments_changed=0,
        assessments_unchanged=0,
        resources_created=0,
        subscriptions_created=0,
        skipped_unknown_recommendation=0,
        skipped_unsupported_resource=0,
        kept_own_evidence=0,
    )
    by_key, by_name = _recommendation_index()
    now = timezone.now()
    seen: set[tuple[str, int]] = set()
    parent_links: dict[str, tuple[str, int]] = {}
    changed: dict[int, int] = {}  # resource -> its subscription
    observed_at: datetime | None = None  # the export's newest date: it shows the estate as of then
    pending: list[int] = []
    for chunk in chunks(records):
        name_subscriptions(
            {r.subscription_id: r.subscription_name for r in chunk if r.subscription_name}, counts
        )
        matched: list[tuple[AssessmentRecord, Recommendation, str]] = []
        for record in chunk:
            observed_at = _newest(observed_at, record.status_changed or record.first_evaluated)
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
        resources = _ensure_resources(matched, counts, parent_links, pending)
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
            status_changed = _status_since(record, current, now)
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
            elif current.source in EVIDENCE_SOURCES and record.cause not in DECIDED_CAUSES:
                # Posture evaluated this from its own evidence (a scan, a kubectl dump): that wins,
                # unless the organisation disabled or exempted the recommendation.
                counts["kept_own_evidence"] += 1
            elif current.held_status:
                # Exempted in Posture: the export's status waits for the exemption's end.
                held = (record.status, record.reason, "defender_export")
                if (current.held_status, current.held_reason, current.source) == held:
                    counts["assessments_unchanged"] += 1
                else:
                    current.held_status, current.held_reason, current.source = held
                    current.updated_at = now
                    to_update.append(current)
            elif any(getattr(current, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(current, name, value)
                current.updated_at = now
                to_update.append(current)
            else:
                counts["assessments_unchanged"] += 1
        Assessment.objects.bulk_create(to_create)
        Assessment.objects.bulk_update(to_update, UPDATED_FIELDS)
        counts["assessments_created"] += len(to_create)
        counts["assessments_changed"] += len(to_update)
        by_pk = {r.pk: r for r in resources.values()}
        changed.update((a.resource_id, by_pk[a.resource_id].subscription_id) for a in to_create + to_update)
    link_parents(parent_links, strict=False)
    return Persisted(
        outcomes=[dict(counts)],
        evidence=set(changed),
        subscriptions=set(changed.values()),
        evaluations=Evaluations(agents=set(pending)),
        observed_at=observed_at,
    )


def name_subscriptions(names: dict[str, str], counts: Counter[str]) -> None:
    """Subscriptions take the names an export gives them (cloud id -> name): a new one is created so
    named, one still named by its id is renamed, one of that name without a cloud id is the same
    subscription (listed by name in an inventory) and takes the id. A name held by another subscription
    is left alone: the id stays the name."""
    if not names:
        return
    by_id = {s.external_id: s for s in Subscription.objects.filter(external_id__in=names)}
    by_name = {s.name: s for s in Subscription.objects.filter(name__in=set(names.values()))}
    for cloud_id, name in sorted(names.items()):
        current = by_id.get(cloud_id)
        holder = by_name.get(name)
        if current is not None:
            if current.name == cloud_id and current.name != name and holder is None:
                current.name = name
                current.save(update_fields=["name"])
                by_name[name] = current
                counts["subscriptions_renamed"] += 1
        elif holder is not None and not holder.external_id:
            holder.external_id = cloud_id
            holder.save(update_fields=["external_id"])
        elif holder is None:
            by_name[name] = Subscription.objects.create(name=name, external_id=cloud_id)
            counts["subscriptions_created"] += 1


def _status_since(record: AssessmentRecord, current: Assessment | None, now: datetime) -> datetime:
    """When the exported status began, the time governance counts due dates from: Defender's
    statusChangeDate; without it, an unchanged status keeps its time, and a new assessment's stands
    since Defender's firstEvaluationDate; a status changed since the last export, since now."""
    if record.status_changed is not None:
        return record.status_changed
    if current is not None:
        return current.status_changed if current.status == record.status else now
    return record.first_evaluated or now


def _newest(known: datetime | None, moment: datetime | None) -> datetime | None:
    if moment is None:
        return known
    return moment if known is None or moment > known else known


def _ensure_resources(
    matched: list[tuple[AssessmentRecord, Recommendation, str]],
    counts: Counter[str],
    parent_links: dict[str, tuple[str, int]],
    pending: list[int],
) -> dict[str, Resource]:
    """The resources the records name; unknown ones are created from what their ids say (the new
    machines of an auto-provisioned subscription pending an agent: added to `pending`).

    An unknown resource of a type Posture does not score (a storage account) is left out.
    """
    keys = {key for _, _, key in matched}
    resources = {r.resource_key: r for r in Resource.objects.filter(resource_key__in=keys)}
    # Defender's ids of AWS machines the EC2 inventory listed (intake/persist/multicloud.py).
    multicloud = multicloud_machines([(record, key) for record, _, key in matched if key not in resources])
    resources.update(multicloud)
    missing = {
        key: record
        for record, _, key in matched
        if key not in resources and parse_resource_id(record.resource_id).kind is not None
    }
    if not missing:
        return resources
    subs = find_or_create_subscriptions({r.subscription_id for r in missing.values()}, counts, external=True)
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
    found = {r.resource_key: r for r in Resource.objects.filter(resource_key__in=keys)}
    pending.extend(mark_pending(r.pk for key, r in found.items() if key in missing))
    return {**found, **multicloud}
