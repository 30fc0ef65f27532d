"""Persists the machines of the clouds' own inventories (EC2, Compute Engine) and agent reports (SSM).

One machine per identity across sources: a record lands on the machine its resource id or any of its
other ids (instance id, ARN, GCP instance id, self link) already names; an inventory's machine that a
scan found first (in "Discovered", by host name) moves into its account, keeping its scans and
findings. Each source that names a machine is recorded with when (ResourceSighting).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

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


def persist_cloud_machines(records: Iterable[CloudMachineRecord]) -> Persisted:
    """Create or update the machines the records name; every one of them is evaluated again."""
    counts: Counter[str] = Counter(
        resources_created=0, resources_changed=0, resources_unchanged=0, scopes_created=0
    )
    now = timezone.now()
    touched: set[int] = set()
    created: set[int] = set()
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
        for record in live:
            resource = found.get(record.position)
            if resource is None:
                resource = _create(record, scopes, counts)
                created.add(resource.pk)
            else:
                move = _update(resource, record, scopes, counts, now)
                if move is not None:
                    moves.append(move)
                    subscriptions |= {move.old_subscription_id, move.new_subscription_id}
            _note(resource, record, now)
            touched.add(resource.pk)
    counts["resources_created"] = len(created)
    mark_pending(sorted(created))
    return Persisted(
        outcomes=[dict(counts)],
        subscriptions=subscriptions,
        moves=moves,
        evaluations=Evaluations(os_configuration=touched, agents=touched),
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
        )
    }
    keys = {identifier_key(kind, value) for r in records for kind, value in r.identifiers}
    by_identifier = {
        i.key: i.resource for i in ResourceIdentifier.objects.filter(key__in=keys).select_related("resource")
    }
    names = {n.lower() for r in records for n in (*r.host_names, r.name)}
    discovered: dict[str, list[Resource]] = {}
    for machine in Resource.objects.annotate(lower_name=Lower("name")).filter(
        subscription__name=DISCOVERED, lower_name__in=names
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


def _create(
    record: CloudMachineRecord, scopes: dict[tuple[str, str], Subscription], counts: Counter[str]
) -> Resource:
    if record.account_id:
        subscription = scopes[(record.cloud, record.account_id)]
        resource_id, discovered_from = record.resource_id, ""
    else:
        # An agent report naming a machine no inventory listed yet: discovered, like a scan's.
        subscription, _ = Subscription.objects.get_or_create(name=DISCOVERED)
        resource_id, discovered_from = f"discovered:{record.native_id}", record.source
        counts["resources_discovered"] += 1
    # Defender onboards EC2 and Compute Engine machines through Azure Arc: they are Arc machines.
    resource = Resource(
        resource_id=resource_id,
        name=record.name,
        kind=ResourceKind.ARC_MACHINE,
        os=record.os,
        subscription=subscription,
        tags=record.tags if record.is_inventory else {},
        power_state=record.power_state if record.is_inventory else "running",
        discovered_from=discovered_from,
        cloud_details={record.source: record.details},
    )
    resource.save()
    return resource


def _update(
    resource: Resource,
    record: CloudMachineRecord,
    scopes: dict[tuple[str, str], Subscription],
    counts: Counter[str],
    now: datetime,
) -> Move | None:
    """Bring a known machine up to what the record says; returns its move when it changed scope or OS."""
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
        move = Move(resource.pk, resource.subscription_id, resource.os, new_subscription, new_os)
    for name, value in changed.items():
        setattr(resource, name, value)
    resource.save()
    counts["resources_changed"] += 1
    return move


def _note(resource: Resource, record: CloudMachineRecord, now: datetime) -> None:
    """The machine's other ids, its host names and this source's sighting."""
    for kind, value in record.identifiers:
        ResourceIdentifier.objects.update_or_create(
            key=identifier_key(kind, value), defaults={"resource": resource, "value": value, "kind": kind}
        )
    # Private DNS names repeat across VPCs and accounts: a host name another machine holds stays
    # with it (scans naming it then match by the machines' names, or are refused as ambiguous).
    for name in {n.lower() for n in record.host_names}:
        ResourceIdentifier.objects.get_or_create(
            key=host_name_key(name), defaults={"resource": resource, "value": name, "kind": HOST_NAME}
        )
    sighting, created = ResourceSighting.objects.get_or_create(
        resource=resource, source=record.source, defaults={"first_seen": now, "last_seen": now}
    )
    if not created:
        ResourceSighting.objects.filter(pk=sighting.pk).update(last_seen=now)
