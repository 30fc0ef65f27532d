"""What an Azure resource id says: subscription, resource group, and which kind of resource it is."""

from dataclasses import dataclass

from posture.choices import ResourceKind

# Provider type paths (lower case) of the resource kinds Posture scores.
_KINDS: dict[str, str] = {
    "microsoft.compute/virtualmachines": ResourceKind.VM,
    "microsoft.classiccompute/virtualmachines": ResourceKind.VM,
    "microsoft.compute/virtualmachinescalesets": ResourceKind.VMSS,
    "microsoft.compute/virtualmachinescalesets/virtualmachines": ResourceKind.VMSS_INSTANCE,
    "microsoft.hybridcompute/machines": ResourceKind.ARC_MACHINE,
    "microsoft.containerservice/managedclusters": ResourceKind.K8S_CLUSTER,
    "microsoft.kubernetes/connectedclusters": ResourceKind.K8S_CLUSTER,
}


@dataclass(frozen=True)
class AzureResourceId:
    subscription_id: str
    resource_group: str
    kind: str | None
    name: str
    parent_id: str


def parse_resource_id(resource_id: str) -> AzureResourceId:
    """Split `/subscriptions/S/resourceGroups/G/providers/NS/type/name[/type/name]`.

    kind is None for a resource type Posture does not score (a storage account, say).
    """
    parts = [p for p in resource_id.strip().split("/") if p]
    lowered = [p.lower() for p in parts]
    subscription_id = parts[1] if len(parts) > 1 and lowered[0] == "subscriptions" else ""
    resource_group = ""
    if "resourcegroups" in lowered:
        index = lowered.index("resourcegroups")
        resource_group = parts[index + 1] if index + 1 < len(parts) else ""
    kind: str | None = None
    name = parts[-1] if parts else resource_id
    parent_id = ""
    if "providers" in lowered:
        index = len(lowered) - 1 - lowered[::-1].index("providers")
        namespace_and_path = parts[index + 1 :]
        if len(namespace_and_path) >= 3:
            namespace = namespace_and_path[0]
            types = namespace_and_path[1::2]
            names = namespace_and_path[2::2]
            type_path = "/".join([namespace, *types]).lower()
            kind = _KINDS.get(type_path)
            if kind == ResourceKind.VMSS_INSTANCE and len(names) >= 2:
                name = f"{names[0]}_{names[1]}"
                parent_id = "/".join(["", *parts[: index + 4]])
    return AzureResourceId(
        subscription_id=subscription_id,
        resource_group=resource_group,
        kind=kind,
        name=name,
        parent_id=parent_id,
    )
