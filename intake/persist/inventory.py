"""Persists inventory records: resources upserted by resource id, scale-set instances linked to their set,
subscriptions found (or created) by the names files give."""

from collections import Counter
from collections.abc import Iterable

from django.utils import timezone

from intake.persist.bulk import chunks
from intake.stages import Evaluations, Move, Persisted
from posture.errors import RejectedFile
from posture.importers.records import ResourceRecord
from posture.models import AgentEvidence, AgentState, Cloud, Resource, Subscription, resource_key
from posture.provisioning import mark_pending

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
    "agent_error",
    "agent_evidence",
)


def _agent_values(record: ResourceRecord, current: Resource | None) -> dict[str, object]:
    """The agent fields a row sets: none when it says nothing, or nothing newer than what is known.

    - a file without the `agent` column says nothing about agents;
    - the agent's own heartbeats outrank the inventory unless the row carries a later heartbeat;
    - "not installed" does not undo auto-provisioning's "pending": both say the agent is not there yet.
    """
    if record.agent_state is None:
        return {}
    if current is not None:
        if current.agent_evidence == AgentEvidence.HEARTBEAT and (
            record.last_heartbeat is None
            or (current.last_heartbeat is not None and record.last_heartbeat <= current.last_heartbeat)
        ):
            return {}
        if (
            current.agent_evidence == AgentEvidence.PROVISIONING
            and current.agent_state == AgentState.PENDING
            and record.agent_state == AgentState.NOT_INSTALLED
        ):
            return {}
    return {
        "agent_state": record.agent_state,
        "agent_version": record.agent_version,
        "workspace_id": record.workspace_id,
        "last_heartbeat": record.last_heartbeat,
        "agent_error": "",
        "agent_evidence": AgentEvidence.INVENTORY,
    }


def persist_inventory(records: Iterable[ResourceRecord]) -> Persisted:
    """Upsert the resources the inventory lists; every one of them is evaluated again afterwards."""
    counts: Counter[str] = Counter(
        resources_created=0, resources_changed=0, resources_unchanged=0, subscriptions_created=0
    )
    now = timezone.now()
    total = 0
    created_keys: set[str] = set()
    seen_keys: list[str] = []
    moves: list[Move] = []
    subscriptions: set[int] = set()
    changed_keys: set[str] = set()
    parent_links: dict[str, tuple[str, int]] = {}
    for chunk in chunks(records):
        subs = find_or_create_subscriptions({r.subscription for r in chunk}, counts, external=False)
        keys = [resource_key(r.resource_id) for r in chunk]
        seen_keys.extend(keys)
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
            }
            resource = existing.get(key)
            values.update(_agent_values(record, resource))
            if record.parent_id:
                parent_links[key] = (resource_key(record.parent_id), record.line)
            if resource is None:
                to_create.append(Resource(resource_id=record.resource_id, resource_key=key, **values))
            elif any(getattr(resource, name) != value for name, value in values.items()):
                before = (resource.subscription_id, resource.os, resource.kind)
                if before != (values["subscription_id"], values["os"], values["kind"]):
                    # The machine's findings' tallies follow it (the findings stage moves them).
                    moves.append(
                        Move(resource.pk, *before, subs[record.subscription].pk, record.os, record.kind)
                    )
                    subscriptions |= {resource.subscription_id, subs[record.subscription].pk}
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
    changed_keys |= link_parents(parent_links, strict=True) - created_keys
    listed = _listed(seen_keys, created_keys)
    counts["resources_created"] = len(created_keys)
    counts["resources_changed"] = len(changed_keys)
    counts["resources_unchanged"] = total - counts["resources_created"] - len(changed_keys)
    return Persisted(
        outcomes=[dict(counts)],
        subscriptions=subscriptions,
        moves=moves,
        # Machines and clusters the inventory lists get their statuses (Not applicable until evidence).
        evaluations=Evaluations(os_configuration=listed, kubernetes=listed, agents=listed),
    )


def link_parents(links: dict[str, tuple[str, int]], *, strict: bool) -> set[str]:
    """Point scale-set instances at their scale set; returns the keys of the instances that changed."""
    changed: set[str] = set()
    for chunk in chunks(list(links.items())):
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


def _listed(keys: list[str], created_keys: set[str]) -> set[int]:
    """The ids of the resources listed; new machines of an auto-provisioned subscription are pending an
    agent first."""
    listed: set[int] = set()
    for chunk in chunks(keys):
        rows = list(Resource.objects.filter(resource_key__in=chunk).values_list("id", "resource_key"))
        mark_pending([pk for pk, key in rows if key in created_keys])
        listed.update(pk for pk, _ in rows)
    return listed


def find_or_create_subscriptions(
    names: set[str], counts: Counter[str], *, external: bool
) -> dict[str, Subscription]:
    """Subscriptions by name or external id, creating the missing ones (named by the value given)."""
    found: dict[str, Subscription] = {}
    for sub in Subscription.objects.filter(name__in=names):
        found[sub.name] = sub
    for sub in Subscription.objects.filter(external_id__in=names - found.keys()):
        found[sub.external_id or ""] = sub
    for name in sorted(names - found.keys()):
        # A Defender export names Azure subscriptions by their GUIDs.
        found[name] = Subscription.objects.create(
            name=name, external_id=name if external else None, cloud=Cloud.AZURE if external else Cloud.NONE
        )
        counts["subscriptions_created"] += 1
    return found
