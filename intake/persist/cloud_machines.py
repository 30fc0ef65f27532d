"""Persists the machines of the clouds' own inventories (EC2, Compute Engine) and agent reports (SSM).

One machine per identity across sources: a record lands on the machine its resource id or any of its
other ids (instance id, ARN, GCP instance id, self link) already names; an inventory's machine that a
scan found first (in "Discovered", by host name) moves into its account, keeping its scans and
findings. Each source that names a machine is recorded with when (ResourceSighting).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db.models.functions import Lower
from django.utils import timezone

from intake.persist.bulk import chunks
from intake.stages import Evaluations, Move, Persisted
from posture.errors import RejectedFile, shown
from posture.importers.records import CloudMachineRecord
from posture.matching import DISCOVERED, HOST_NAME, host_name_key, identifier_key
from posture.models import (
    Resource,
    ResourceIdentifier,
    ResourceKind,
    ResourceSighting,
    Subscription,
    resource_key,
)
from posture.provisioning import mark_pending

TERMINATED = "terminated"
# Marks a machine the chunk's bulk update must write (its updated_at is set to the import's time).
UPDATED = datetime.min.replace(tzinfo=UTC)
UPDATED_FIELDS = (
    "resource_id",
    "resource_key",
    "name",
    "os",
    "subscription",
    "tags",
    "power_state",
    "discovered_from",
    "cloud_details",
    "updated_at",
)


def persist_cloud_machines(records: Iterable[CloudMachineRecord]) -> Persisted:
    """Create or update the machines the records name; every one of them is evaluated again."""
    counts: Counter[str] = Counter(
        resources_created=0, resources_changed=0, resources_unchanged=0, scopes_created=0
    )
    now = timezone.now()
    created: set[int] = set()
    # The machines created or changed: an unchanged one's statuses cannot have moved.
    evaluate: set[int] = set()
    moves: list[Move] = []
    subscriptions: set[int] = set()
    seen: set[str] = set()
    for chunk in chunks(records):
        live = []
        for record in chunk:
            if record.power_state == TERMINATED:
                counts["skipped_terminated"] += 1
                continue
            key = identifier_key(record.identifiers[0][0], record.identifiers[0][1])
            if key in seen:
                raise RejectedFile(
                    f"record {record.position}: instance {shown(record.native_id)} appears twice"
                )
            seen.add(key)
            live.append(record)
        scopes = _scopes(live, counts)
        found = _known(live)
        claimed: dict[int, CloudMachineRecord] = {}
        to_create: list[tuple[CloudMachineRecord, Resource]] = []
        to_update: list[Resource] = []
        for record in live:
            resource = found.get(record.position)
            if resource is None:
                to_create.append((record, _new(record, scopes, counts)))
                continue
            if resource.pk in claimed:
                raise RejectedFile(
                    f"instances {claimed[resource.pk].native_id!r} and {record.native_id!r} both name "
                    f"the machine {resource.name!r}"
                )
            claimed[resource.pk] = record
            move = _update(resource, record, scopes, counts)
            if move is not None:
                moves.append(move)
                subscriptions |= {move.old_subscription_id, move.new_subscription_id}
            if resource.updated_at == UPDATED:
                resource.updated_at = now
                to_update.append(resource)
        Resource.objects.bulk_create([resource for _, resource in to_create])
        # Small batches: a bulk update is one CASE per column over its rows, quadratic in its size.
        Resource.objects.bulk_update(to_update, UPDATED_FIELDS, batch_size=100)
        evaluate.update(resource.pk for resource in to_update)
        created.update(resource.pk for _, resource in to_create)
        evaluate.update(created)
        named = [(resource, record) for record, resource in to_create]
        named += [(found[record.position], record) for record in live if record.position in found]
        _note(named, now)
    counts["resources_created"] = len(created)
    mark_pending(sorted(created))
    return Persisted(
        outcomes=[dict(counts)],
        subscriptions=subscriptions,
        moves=moves,
        evaluations=Evaluations(os_configuration=evaluate, agents=evaluate),
    )


def _scopes(records: list[CloudMachineRecord], counts: Counter[str]) -> dict[tuple[str, str], Subscription]:
    """The accounts and projects the records name, created (named by their native id) when new."""
    wanted = {(r.cloud, r.account_id) for r in records if r.account_id}
    found: dict[tuple[str, str], Subscription] = {}
    for cloud, native_id in sorted(wanted):
        scope = Subscription.objects.filter(external_id__iexact=native_id).first()
        if scope is None:
            if Subscription.objects.filter(name=native_id).exists():
                raise RejectedFile(
                    f"{cloud} account {native_id!r}: a scope of that name already exists without "
                    "that id; rename it or give it the id"
                )
            scope = Subscription.objects.create(name=native_id, external_id=native_id, cloud=cloud)
            counts["scopes_created"] += 1
        elif scope.cloud != cloud:
            if scope.cloud:
                raise RejectedFile(
                    f"{cloud} account {native_id!r} is known as a {scope.get_cloud_display()} scope"
                )
            scope.cloud = cloud
            scope.save(update_fields=["cloud"])
        found[(cloud, native_id)] = scope
    return found


def _known(records: list[CloudMachineRecord]) -> dict[int, Resource]:
    """Each record's machine, if one is known: by resource id, by any other id, else (a machine a scan
    found first) by host name among the discovered ones. Three queries a chunk."""
    by_key = {
        r.resource_key: r
        for r in Resource.objects.filter(
            resource_key__in={resource_key(r.resource_id) for r in records if r.resource_id}
        ).select_related("subscription")
    }
    keys = {identifier_key(kind, value) for r in records for kind, value in r.identifiers}
    by_identifier = {
        i.key: i.resource
        for i in ResourceIdentifier.objects.filter(key__in=keys).select_related("resource__subscription")
    }
    names = {n.lower() for r in records for n in (*r.host_names, r.name)}
    discovered: dict[str, list[Resource]] = {}
    for machine in (
        Resource.objects.annotate(lower_name=Lower("name"))
        .filter(subscription__name=DISCOVERED, lower_name__in=names)
        .select_related("subscription")
    ):
        discovered.setdefault(machine.name.lower(), []).append(machine)
    found: dict[int, Resource] = {}
    for record in records:
        candidates = {
            m.pk: m
            for m in (
                by_key.get(resource_key(record.resource_id)) if record.resource_id else None,
                *(by_identifier.get(identifier_key(kind, value)) for kind, value in record.identifiers),
            )
            if m is not None
        }
        if len(candidates) > 1:
            named = ", ".join(sorted(m.name for m in candidates.values()))
            raise RejectedFile(
                f"instance {record.native_id!r} names {len(candidates)} different machines ({named})"
            )
        if not candidates:
            by_name = {
                m.pk: m for n in (*record.host_names, record.name) for m in discovered.get(n.lower(), [])
            }
            # Only an unambiguous host name adopts a discovered machine.
            candidates = by_name if len(by_name) == 1 else {}
        if candidates:
            found[record.position] = next(iter(candidates.values()))
    return found


def _new(
    record: CloudMachineRecord, scopes: dict[tuple[str, str], Subscription], counts: Counter[str]
) -> Resource:
    """The machine a record names that nobody knew (unsaved: the chunk's new machines go in at once)."""
    if record.account_id:
        subscription = scopes[(record.cloud, record.account_id)]
        resource_id, discovered_from = record.resource_id, ""
    else:
        # An agent report naming a machine no inventory listed yet: discovered, like a scan's.
        subscription, _ = Subscription.objects.get_or_create(name=DISCOVERED)
        resource_id, discovered_from = f"discovered:{record.native_id}", record.source
        counts["resources_discovered"] += 1
    # Defender onboards EC2 and Compute Engine machines through Azure Arc: they are Arc machines.
    return Resource(
        resource_id=resource_id,
        resource_key=resource_key(resource_id),
        name=record.name,
        kind=ResourceKind.ARC_MACHINE,
        os=record.os,
        subscription=subscription,
        tags=record.tags if record.is_inventory else {},
        power_state=record.power_state if record.is_inventory else "running",
        discovered_from=discovered_from,
        cloud_details={record.source: record.details},
    )


def _update(
    resource: Resource,
    record: CloudMachineRecord,
    scopes: dict[tuple[str, str], Subscription],
    counts: Counter[str],
) -> Move | None:
    """Bring a known machine up to what the record says (marked UPDATED when it changed, for the
    chunk's bulk update); returns its move when it changed scope or OS."""
    values: dict[str, object] = {"cloud_details": {**resource.cloud_details, record.source: record.details}}
    if record.os and record.os != resource.os:
        values["os"] = record.os
    if record.is_inventory:
        values.update(
            resource_id=record.resource_id,
            name=record.name,
            subscription_id=scopes[(record.cloud, record.account_id)].pk,
            tags=record.tags,
            power_state=record.power_state,
            discovered_from="",
        )
    changed = {name: value for name, value in values.items() if getattr(resource, name) != value}
    if not changed:
        counts["resources_unchanged"] += 1
        return None
    move = None
    new_subscription = int(changed.get("subscription_id", resource.subscription_id))  # type: ignore[call-overload]
    new_os = str(changed.get("os", resource.os))
    if (new_subscription, new_os) != (resource.subscription_id, resource.os):
        if resource.subscription.name == DISCOVERED:
            counts["resources_moved_from_discovered"] += 1
        move = Move(
            resource.pk,
            resource.subscription_id,
            resource.os,
            resource.kind,
            new_subscription,
            new_os,
            resource.kind,
        )
    for name, value in changed.items():
        setattr(resource, name, value)
    resource.resource_key = resource_key(resource.resource_id)
    resource.updated_at = UPDATED
    counts["resources_changed"] += 1
    return move


def _note(named: list[tuple[Resource, CloudMachineRecord]], now: datetime) -> None:
    """The machines' other ids, their host names and this source's sightings, set-based: an id names
    the machine that last claimed it; a host name stays with the first machine that had it (private DNS
    names repeat across VPCs and accounts; scans naming a shared one then match by machine names, or
    are refused as ambiguous)."""
    wanted: dict[str, tuple[Resource, str, str]] = {}
    for resource, record in named:
        for kind, value in record.identifiers:
            wanted[identifier_key(kind, value)] = (resource, kind, value)
        for name in record.host_names:
            wanted.setdefault(host_name_key(name), (resource, HOST_NAME, name.lower()))
    existing = {i.key: i for i in ResourceIdentifier.objects.filter(key__in=wanted)}
    moved = []
    for key, (resource, kind, _) in wanted.items():
        current = existing.get(key)
        if current is not None and kind != HOST_NAME and current.resource_id != resource.pk:
            current.resource_id = resource.pk
            moved.append(current)
    ResourceIdentifier.objects.bulk_update(moved, ["resource"], batch_size=100)
    ResourceIdentifier.objects.bulk_create(
        [
            ResourceIdentifier(resource=resource, key=key, value=value, kind=kind)
            for key, (resource, kind, value) in wanted.items()
            if key not in existing
        ]
    )
    sources = {record.source for _, record in named}
    pks = {resource.pk for resource, _ in named}
    seen = set(
        ResourceSighting.objects.filter(resource_id__in=pks, source__in=sources).values_list(
            "resource_id", "source"
        )
    )
    ResourceSighting.objects.filter(resource_id__in=pks, source__in=sources).update(last_seen=now)
    ResourceSighting.objects.bulk_create(
        [
            ResourceSighting(resource=resource, source=record.source, first_seen=now, last_seen=now)
            for resource, record in {(r.pk, rec.source): (r, rec) for r, rec in named}.values()
            if (resource.pk, record.source) not in seen
        ]
    )
