"""Which machine a piece of evidence (a scan, a heartbeat) is about; a machine nobody listed is discovered."""

from django.db.models import Q

from posture.errors import RejectedFile
from posture.models import MACHINE_KINDS, Resource, ResourceKind, Subscription, resource_key
from posture.provisioning import mark_pending

DISCOVERED = "Discovered"
LOOPBACK = {"localhost", "localhost4", "localhost6", "ip6-localhost", "ip6-loopback"}


def find_or_discover_machine(
    *, resource_id: str, fqdn: str, hostname: str, os: str, discovered_from: str
) -> tuple[Resource, bool]:
    """The resource by id, else by host name or FQDN (case-insensitive); else a new `arc_machine` in the
    subscription "Discovered", marked with `discovered_from`. Returns (resource, created)."""
    if resource_id:
        found = Resource.objects.filter(resource_key=resource_key(resource_id)).first()
        if found is not None:
            return found, False
    # A loopback name ("localhost") names no machine in particular: never match or discover by it.
    names = [n for n in (fqdn, hostname, fqdn.split(".")[0]) if n and n.split(".")[0].lower() not in LOOPBACK]
    if not names:
        raise RejectedFile("the evidence names no host (no host name or FQDN) and no known resource id")
    query = Q()
    for name in names:
        query |= Q(name__iexact=name)
    candidates = list(Resource.objects.filter(query, kind__in=MACHINE_KINDS))
    if len(candidates) > 1:
        exact = [c for c in candidates if c.name.lower() == names[0].lower()]
        candidates = exact if len(exact) == 1 else candidates
    if len(candidates) > 1:
        listed = ", ".join(sorted(c.resource_id for c in candidates)[:5])
        raise RejectedFile(
            f"host {names[0]!r} matches {len(candidates)} resources ({listed}); name the resource"
        )
    if candidates:
        return candidates[0], False
    subscription, _ = Subscription.objects.get_or_create(name=DISCOVERED)
    name = names[0]
    resource = Resource(
        resource_id=f"discovered:{name.lower()}",
        name=name,
        kind=ResourceKind.ARC_MACHINE,
        os=os,
        subscription=subscription,
        discovered_from=discovered_from,
    )
    resource.save()
    mark_pending([resource.pk])
    resource.refresh_from_db()
    return resource, True
