"""Which machine a piece of evidence (a scan, a heartbeat) is about; a machine nobody listed is discovered."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models.functions import Lower

from posture.errors import RejectedFile
from posture.models import (
    MACHINE_KINDS,
    Resource,
    ResourceIdentifier,
    ResourceKind,
    Subscription,
    resource_key,
)
from posture.provisioning import mark_pending

DISCOVERED = "Discovered"
LOOPBACK = {"localhost", "localhost4", "localhost6", "ip6-localhost", "ip6-loopback"}


# The identifier kind of a host name a cloud inventory gave a machine (its private DNS name...).
HOST_NAME = "host_name"


def identifier_key(kind: str, value: str) -> str:
    """The matching key of one of a machine's ids: its kind and its value, case-insensitive."""
    return f"{kind}:{value.strip().lower()}"


def host_name_key(name: str) -> str:
    return identifier_key(HOST_NAME, name)


@dataclass(frozen=True)
class MachineEvidence:
    """What a scan or heartbeat says of its machine."""

    resource_id: str = ""
    fqdn: str = ""
    hostname: str = ""
    os: str = ""

    def names(self) -> list[str]:
        # A loopback name ("localhost") names no machine in particular: never match or discover by it.
        return [
            n
            for n in (self.fqdn, self.hostname, self.fqdn.split(".")[0])
            if n and n.split(".")[0].lower() not in LOOPBACK
        ]


def find_known_machines(evidence: list[MachineEvidence]) -> list[Resource | RejectedFile | None]:
    """For each piece of evidence: its known machine, None when it names an unknown one (to discover),
    or why it names none. Two queries however many pieces: by resource id, then by name."""
    by_key = {
        r.resource_key: r
        for r in Resource.objects.filter(
            resource_key__in={resource_key(e.resource_id) for e in evidence if e.resource_id}
        )
    }
    wanted = {name.lower() for e in evidence for name in e.names()}
    by_name: dict[str, list[Resource]] = defaultdict(list)
    if wanted:
        for resource in Resource.objects.annotate(lower_name=Lower("name")).filter(
            lower_name__in=wanted, kind__in=MACHINE_KINDS
        ):
            by_name[resource.name.lower()].append(resource)
        # The host names a cloud inventory gave its machines (an EC2 instance named by its Name tag is
        # `ip-10-0-1-5` to its scanner).
        for identifier in ResourceIdentifier.objects.filter(
            key__in=[host_name_key(name) for name in wanted]
        ).select_related("resource"):
            named = by_name[identifier.key.removeprefix(HOST_NAME + ":")]
            if all(r.pk != identifier.resource_id for r in named):
                named.append(identifier.resource)
    return [_known(e, by_key, by_name) for e in evidence]


def _known(
    evidence: MachineEvidence, by_key: dict[str, Resource], by_name: dict[str, list[Resource]]
) -> Resource | RejectedFile | None:
    if evidence.resource_id:
        found = by_key.get(resource_key(evidence.resource_id))
        if found is not None:
            return found
    names = evidence.names()
    if not names:
        return RejectedFile("the evidence names no host (no host name or FQDN) and no known resource id")
    candidates = list({r.pk: r for name in names for r in by_name.get(name.lower(), [])}.values())
    if len(candidates) > 1:
        exact = [c for c in candidates if c.name.lower() == names[0].lower()]
        candidates = exact if len(exact) == 1 else candidates
    if len(candidates) > 1:
        listed = ", ".join(sorted(c.resource_id for c in candidates)[:5])
        return RejectedFile(
            f"host {names[0]!r} matches {len(candidates)} resources ({listed}); name the resource"
        )
    return candidates[0] if candidates else None


def discover_machine(evidence: MachineEvidence, *, discovered_from: str) -> Resource:
    """A new `arc_machine` in the subscription "Discovered", marked with where it was seen."""
    subscription, _ = Subscription.objects.get_or_create(name=DISCOVERED)
    name = evidence.names()[0]
    resource = Resource(
        resource_id=f"discovered:{name.lower()}",
        name=name,
        kind=ResourceKind.ARC_MACHINE,
        os=evidence.os,
        subscription=subscription,
        discovered_from=discovered_from,
    )
    resource.save()
    mark_pending([resource.pk])
    resource.refresh_from_db()
    return resource


def find_or_discover_machine(
    *, resource_id: str, fqdn: str, hostname: str, os: str, discovered_from: str
) -> tuple[Resource, bool]:
    """The resource by id, else by host name or FQDN (case-insensitive); else a new `arc_machine` in the
    subscription "Discovered", marked with `discovered_from`. Returns (resource, created)."""
    evidence = MachineEvidence(resource_id=resource_id, fqdn=fqdn, hostname=hostname, os=os)
    found = find_known_machines([evidence])[0]
    if isinstance(found, RejectedFile):
        raise found
    if found is not None:
        return found, False
    return discover_machine(evidence, discovered_from=discovered_from), True
