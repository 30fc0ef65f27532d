"""A cluster's objects as `kubectl get namespaces,deployments,daemonsets,pods -A -o json` prints them.

The file is kubectl's `List` ({"apiVersion": "v1", "kind": "List", "items": [...]}), or a wrapper
{"cluster": "<resource id or cluster name>", "list": <the List>} that names the cluster it describes.
Out come the Deployments' and DaemonSets' readiness and, for every container, the AppArmor profile it
runs with and where that was set.

The effective profile follows the kubelet (pkg/security/apparmor/helpers.go, GetProfile): the
container's `securityContext.appArmorProfile`, else the deprecated annotation
`container.apparmor.security.beta.kubernetes.io/<container>`, else the pod's
`securityContext.appArmorProfile`; "The container AppArmor profile takes precedence over the pod
profile" (kubernetes.io/docs/tutorials/security/apparmor/). The API server refuses a pod whose field
and annotation disagree, so they differ only in static pods and in pod templates.

Pods are what run; a Deployment's or DaemonSet's pod template counts only when none of its pods is in
the dump (scaled to zero, not scheduled yet), so a container is not counted twice.
"""

import json
from dataclasses import dataclass, field
from typing import IO, Any

from posture.choices import ContainerType, ProfileSource, WorkloadKind
from posture.errors import RejectedFile, shown
from posture.importers.json_input import json_type, parse_json
from posture.importers.limits import check_lengths

ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
COMMAND = "kubectl get namespaces,deployments,daemonsets,pods -A -o json"
CONTAINER_LISTS = (
    ("containers", ContainerType.CONTAINER),
    ("initContainers", ContainerType.INIT),
    ("ephemeralContainers", ContainerType.EPHEMERAL),
)
FIELD_PROFILES = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}
NAMESPACED = ("Pod", "Deployment", "DaemonSet")


@dataclass(frozen=True)
class ControllerStatus:
    """A Deployment's or DaemonSet's readiness: replicas wanted and replicas ready."""

    kind: str
    namespace: str
    name: str
    desired: int
    ready: int


@dataclass(frozen=True)
class ContainerProfile:
    """A container and the AppArmor profile it runs with ("" when none is set: the runtime's default)."""

    namespace: str
    workload_kind: str
    workload_name: str
    owner: str
    container: str
    container_type: str
    profile: str = ""
    set_by: str = ""


@dataclass
class KubernetesDump:
    cluster: str = ""
    # Objects by kind ("Namespace", "Pod", ...); "other" counts the kinds Posture does not read.
    counts: dict[str, int] = field(default_factory=dict)
    controllers: list[ControllerStatus] = field(default_factory=list)
    containers: list[ContainerProfile] = field(default_factory=list)


def _syntax_hint(raw: bytes, error: json.JSONDecodeError) -> str:
    if _looks_like_yaml(raw):
        return " (kubectl output must be JSON: -o json, not YAML)"
    if error.pos >= len(error.doc.rstrip()) or error.msg.startswith("Unterminated string"):
        return " (the file ends early: truncated?)"
    return ""


def read_kubernetes(stream: IO[bytes]) -> KubernetesDump:
    document = parse_json(stream.read(), hint=_syntax_hint)
    cluster, kubectl_list = _unwrap(document)
    items = kubectl_list.get("items")
    if not isinstance(items, list):
        raise RejectedFile(f"the List has no 'items' list: expected the output of `{COMMAND}`")
    dump = KubernetesDump(cluster=cluster)
    objects, other = _sort_items(items)
    dump.counts = {kind: len(found) for kind, found in objects.items()} | {"other": other}
    if not objects["Namespace"]:
        raise RejectedFile(
            f"the List holds no Namespace: expected the whole output of `{COMMAND}` "
            "(namespaces, deployments, daemonsets and pods)"
        )
    controllers = {
        (item["metadata"]["namespace"], kind, item["metadata"]["name"]): (where, item)
        for kind in ("Deployment", "DaemonSet")
        for where, item in objects[kind]
    }
    dump.controllers = [_controller_status(where, key, item) for key, (where, item) in controllers.items()]
    with_pods: set[tuple[str, str, str]] = set()
    for where, pod in objects["Pod"]:
        owner = _pod_owner(where, pod, controllers)
        if owner in controllers:
            with_pods.add(owner)
        metadata = pod["metadata"]
        dump.containers.extend(
            _containers(
                where,
                metadata["namespace"],
                metadata,
                _object(where, "spec", pod.get("spec")),
                WorkloadKind.POD,
                metadata["name"],
                f"{owner[1]}/{owner[2]}" if owner else "",
            )
        )
    for key, (where, controller) in controllers.items():
        if key in with_pods:
            continue
        spec = _object(where, "spec", controller.get("spec"))
        template = _object(where, "spec.template", spec.get("template"))
        dump.containers.extend(
            _containers(
                where,
                key[0],
                _object(where, "spec.template.metadata", template.get("metadata") or {}),
                _object(where, "spec.template.spec", template.get("spec")),
                WorkloadKind(key[1]),
                key[2],
                "",
            )
        )
    dump.counts["containers"] = len(dump.containers)
    return dump


def _sort_items(items: list[Any]) -> tuple[dict[str, list[tuple[str, dict[str, Any]]]], int]:
    """The items Posture reads, by kind, each with how messages name it; and how many others there were."""
    objects: dict[str, list[tuple[str, dict[str, Any]]]] = {kind: [] for kind in ("Namespace", *NAMESPACED)}
    seen: set[tuple[str, str, str]] = set()
    other = 0
    for position, item in enumerate(items, start=1):
        kind, where = _check_item(position, item)
        if kind not in objects:
            other += 1
            continue
        key = (kind, item["metadata"].get("namespace") or "", item["metadata"]["name"])
        if key in seen:
            raise RejectedFile(f"{where}: the List holds this {kind} {shown(key[2])} twice")
        seen.add(key)
        objects[kind].append((where, item))
    return objects, other


def _looks_like_yaml(raw: bytes) -> bool:
    first = raw.lstrip(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0]
    return first.startswith((b"apiVersion:", b"kind:", b"items:", b"---"))


def _unwrap(document: Any) -> tuple[str, dict[str, Any]]:
    """The cluster the wrapper names ("" without a wrapper) and the List."""
    if not isinstance(document, dict):
        raise RejectedFile(f"not a kubectl List: expected a JSON object, the output of `{COMMAND}`")
    cluster = ""
    if "list" in document or "cluster" in document:
        unexpected = sorted(set(document) - {"cluster", "list"})
        if unexpected:
            raise RejectedFile(
                f"unexpected key(s) {', '.join(unexpected)}: a wrapper holds only 'cluster' and 'list'"
            )
        named = document.get("cluster")
        if not isinstance(named, str) or not named.strip():
            raise RejectedFile("the wrapper's 'cluster' must name the cluster (resource id or name)")
        cluster = named.strip()
        document = document.get("list")
        if not isinstance(document, dict):
            raise RejectedFile(f"the wrapper's 'list' must be the JSON object `{COMMAND}` prints")
    kind = document.get("kind")
    if kind != "List":
        if isinstance(kind, str) and kind:
            metadata = document.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else ""
            raise RejectedFile(
                f"a single {kind} object{f' ({name})' if name else ''}, not a List: "
                f"export the cluster with `{COMMAND}`"
            )
        raise RejectedFile(f'not a kubectl List (no "kind": "List"): expected the output of `{COMMAND}`')
    return cluster, document


def _check_item(position: int, item: Any) -> tuple[str, str]:
    """The kind of a List item and how error messages name it; rejects an item that is not an object."""
    where = f"item {position}"
    if not isinstance(item, dict):
        raise RejectedFile(f"{where}: expected a Kubernetes object, found {json_type(item)}")
    kind, api_version = item.get("kind"), item.get("apiVersion")
    if not isinstance(kind, str) or not kind or not isinstance(api_version, str) or not api_version:
        raise RejectedFile(f"{where}: not a Kubernetes object (no apiVersion and kind)")
    metadata = item.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise RejectedFile(f"{where} ({kind}): metadata.name is missing")
    if kind in NAMESPACED:
        namespace = metadata.get("namespace")
        if not isinstance(namespace, str) or not namespace:
            raise RejectedFile(f"{where} ({kind} {metadata['name']}): metadata.namespace is missing")
        where = f"{where} ({kind} {namespace}/{metadata['name']})"
    return kind, where


def _object(where: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RejectedFile(f"{where}: {name} must be an object")
    return value


def _count(where: str, name: str, value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RejectedFile(f"{where}: {name} must be a whole number, found {shown(value)}")
    return value


def _controller_status(where: str, key: tuple[str, str, str], item: dict[str, Any]) -> ControllerStatus:
    namespace, kind, name = key
    spec = _object(where, "spec", item.get("spec"))
    status = _object(where, "status", item.get("status", {}))
    if kind == "Deployment":
        # spec.replicas defaults to 1; a Deployment nothing became ready in has no readyReplicas.
        desired = _count(where, "spec.replicas", spec.get("replicas"), 1)
        ready = _count(where, "status.readyReplicas", status.get("readyReplicas"), 0)
    else:
        desired = _count(where, "status.desiredNumberScheduled", status.get("desiredNumberScheduled"), 0)
        ready = _count(where, "status.numberReady", status.get("numberReady"), 0)
    return ControllerStatus(kind=kind, namespace=namespace, name=name, desired=desired, ready=ready)


def _pod_owner(
    where: str, pod: dict[str, Any], controllers: dict[tuple[str, str, str], Any]
) -> tuple[str, str, str] | None:
    """(namespace, kind, name) of the pod's controller: a Deployment through its ReplicaSet when known."""
    metadata = pod["metadata"]
    references = metadata.get("ownerReferences") or []
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        raise RejectedFile(f"{where}: metadata.ownerReferences must be a list of objects")
    controlling = [r for r in references if r.get("controller") is True] or references
    if not controlling:
        return None
    kind, name = str(controlling[0].get("kind") or ""), str(controlling[0].get("name") or "")
    if not kind or not name:
        raise RejectedFile(f"{where}: an ownerReference has no kind or name")
    namespace = metadata["namespace"]
    if kind == "ReplicaSet":
        # A Deployment names its ReplicaSets <deployment>-<pod-template-hash>.
        labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
        suffix = f"-{labels.get('pod-template-hash', '')}"
        deployment = (
            name[: -len(suffix)] if suffix != "-" and name.endswith(suffix) else name.rpartition("-")[0]
        )
        if (namespace, "Deployment", deployment) in controllers:
            return namespace, "Deployment", deployment
    return namespace, kind, name


def _containers(
    where: str,
    namespace: str,
    metadata: dict[str, Any],
    spec: dict[str, Any],
    workload_kind: str,
    workload_name: str,
    owner: str,
) -> list[ContainerProfile]:
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise RejectedFile(f"{where}: metadata.annotations must be an object")
    pod_context = _object(where, "spec.securityContext", spec.get("securityContext") or {})
    pod_profile = _field_profile(where, "spec.securityContext", pod_context.get("appArmorProfile"))
    if not isinstance(spec.get("containers"), list) or not spec["containers"]:
        raise RejectedFile(f"{where}: spec.containers must be a non-empty list")
    found = []
    for list_name, container_type in CONTAINER_LISTS:
        containers = spec.get(list_name) or []
        if not isinstance(containers, list):
            raise RejectedFile(f"{where}: spec.{list_name} must be a list")
        for index, container in enumerate(containers):
            path = f"spec.{list_name}[{index}]"
            container = _object(where, path, container)
            name = container.get("name")
            if not isinstance(name, str) or not name:
                raise RejectedFile(f"{where}: {path} has no name")
            context = _object(where, f"{path}.securityContext", container.get("securityContext") or {})
            profile, set_by = _effective_profile(
                _field_profile(where, f"{path}.securityContext", context.get("appArmorProfile")),
                annotations.get(ANNOTATION_PREFIX + name),
                pod_profile,
            )
            found.append(
                ContainerProfile(
                    namespace=namespace,
                    workload_kind=workload_kind,
                    workload_name=workload_name,
                    owner=owner,
                    container=name,
                    container_type=container_type,
                    profile=profile,
                    set_by=set_by,
                )
            )
            check_lengths(found[-1], f"{where}: {path}")
    return found


def _effective_profile(container_field: str, annotation: Any, pod_field: str) -> tuple[str, str]:
    if container_field:
        return container_field, ProfileSource.CONTAINER_SECURITY_CONTEXT
    if isinstance(annotation, str) and annotation.strip():
        # API servers of v1.30 and v1.31 copy the pod's field into each container's annotation: the
        # same value there means the pod's securityContext is what to change.
        if annotation.strip() == pod_field:
            return pod_field, ProfileSource.POD_SECURITY_CONTEXT
        return annotation.strip(), ProfileSource.POD_ANNOTATION
    if pod_field:
        return pod_field, ProfileSource.POD_SECURITY_CONTEXT
    return "", ""


def _field_profile(where: str, path: str, value: Any) -> str:
    """A securityContext.appArmorProfile in the annotation's syntax ("" when the field is not set)."""
    if value is None:
        return ""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str) or not value["type"]:
        raise RejectedFile(f"{where}: {path}.appArmorProfile must be an object with a type")
    kind: str = value["type"]
    if kind == "Localhost":
        name = value.get("localhostProfile")
        if not isinstance(name, str) or not name:
            raise RejectedFile(f"{where}: {path}.appArmorProfile of type Localhost needs a localhostProfile")
        return f"localhost/{name}"
    # An unknown type is kept as written: no allowed list names it, so it is reported.
    return FIELD_PROFILES.get(kind, kind)
