"""kubectl dumps: detection, the cluster they describe, AppArmor precedence, evidence rows, bad input."""

import io
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from intake.pipeline import ingest_file, ingest_stream
from posture.errors import RejectedFile
from posture.importers.detect import detect_format
from posture.importers.kubernetes import read_kubernetes
from recommendations.models import AppArmorViolation, ClusterSnapshot
from tests.db_state import database_state
from tests.factories import make_resource

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AKS_DUMP = FIXTURES / "kubernetes" / "aks-prod.json"
ARC_DUMP = FIXTURES / "kubernetes" / "arc-edge.wrapped.json"
LAB_DUMP = FIXTURES / "kubernetes" / "lab-kind.wrapped.json"
INVENTORY = FIXTURES / "inventory" / "estate.csv"
SUBSCRIPTION = "/subscriptions/3f2a9c1e-0000-4000-8000-00000000a001"
AKS = f"{SUBSCRIPTION}/resourceGroups/prod-k8s/providers/Microsoft.ContainerService/managedClusters/aks-prod"
ARC = f"{SUBSCRIPTION}/resourceGroups/edge/providers/Microsoft.Kubernetes/connectedClusters/arc-edge"
ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def cluster(resource_id: str = AKS, name: str = "aks-prod"):
    return make_resource(name=name, kind="k8s_cluster", os="", resource_id=resource_id)


def violations(resource) -> set[tuple[str, ...]]:
    return set(
        AppArmorViolation.objects.filter(cluster=resource).values_list(
            "namespace",
            "workload_kind",
            "workload_name",
            "owner",
            "container",
            "container_type",
            "profile",
            "set_by",
        )
    )


# Small objects in kubectl's shape, for the precedence rules.
def kubectl_list(*items: dict[str, Any]) -> bytes:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
    return json.dumps({"apiVersion": "v1", "items": [namespace, *items], "kind": "List"}).encode()


def container(name: str, profile: dict[str, str] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"image": "busybox:1.36", "name": name}
    if profile:
        found["securityContext"] = {"appArmorProfile": profile}
    return found


def pod(
    name: str,
    *containers: dict[str, Any],
    annotations: dict[str, str] | None = None,
    profile: dict[str, str] | None = None,
    owner: tuple[str, str] | None = None,
    **lists: list[dict[str, Any]],
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "annotations": annotations or {}}
    if owner:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "controller": True, "kind": owner[0], "name": owner[1]}
        ]
        metadata["labels"] = {"pod-template-hash": "5d78c9869d"}
    spec: dict[str, Any] = {"containers": list(containers), **lists}
    if profile:
        spec["securityContext"] = {"appArmorProfile": profile}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": {"phase": "Running"},
    }


def controller(kind: str, name: str, *containers: dict[str, Any], annotations: dict[str, str] | None = None):
    template = {"metadata": {"annotations": annotations or {}}, "spec": {"containers": list(containers)}}
    status = {"readyReplicas": 1} if kind == "Deployment" else {"desiredNumberScheduled": 1, "numberReady": 1}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": 1, "template": template} if kind == "Deployment" else {"template": template},
        "status": status,
    }


def profiles(document: bytes) -> dict[tuple[str, str], tuple[str, str]]:
    dump = read_kubernetes(io.BytesIO(document))
    return {(c.workload_name, c.container): (c.profile, c.set_by) for c in dump.containers}


UNCONFINED = {"type": "Unconfined"}
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}


def test_container_field_overrides_the_annotation_and_the_pod_field():
    document = kubectl_list(
        pod(
            "p",
            container("a", RUNTIME_DEFAULT),
            container("b", UNCONFINED),
            annotations={ANNOTATION + "a": "unconfined", ANNOTATION + "b": "runtime/default"},
            profile={"type": "Localhost", "localhostProfile": "strict"},
        )
    )
    assert profiles(document) == {
        ("p", "a"): ("runtime/default", "container_security_context"),
        ("p", "b"): ("unconfined", "container_security_context"),
    }


def test_the_containers_annotation_overrides_the_pod_field_as_the_kubelet_reads_them():
    document = kubectl_list(
        pod(
            "p",
            container("a"),
            container("b"),
            annotations={ANNOTATION + "a": "unconfined"},
            profile=RUNTIME_DEFAULT,
        )
    )
    assert profiles(document) == {
        ("p", "a"): ("unconfined", "pod_annotation"),
        ("p", "b"): ("runtime/default", "pod_security_context"),
    }


def test_an_annotation_copied_from_the_pod_field_is_credited_to_the_field():
    document = kubectl_list(
        pod("p", container("a"), annotations={ANNOTATION + "a": "unconfined"}, profile=UNCONFINED)
    )
    assert profiles(document) == {("p", "a"): ("unconfined", "pod_security_context")}


def test_init_and_ephemeral_containers_count_and_no_profile_is_the_runtime_default():
    document = kubectl_list(
        pod(
            "p",
            container("app"),
            initContainers=[container("init", {"type": "Localhost", "localhostProfile": "k8s-init"})],
            ephemeralContainers=[container("debugger", UNCONFINED)],
        )
    )
    dump = read_kubernetes(io.BytesIO(document))
    assert [(c.container, c.container_type, c.profile) for c in dump.containers] == [
        ("app", "container", ""),
        ("init", "init_container", "localhost/k8s-init"),
        ("debugger", "ephemeral_container", "unconfined"),
    ]


def test_a_template_counts_only_while_none_of_its_pods_is_in_the_dump():
    document = kubectl_list(
        controller("Deployment", "web", container("nginx")),
        controller("DaemonSet", "agent", container("agent")),
        controller("Deployment", "batch", container("job", UNCONFINED)),
        pod("web-5d78c9869d-x2x7q", container("nginx"), owner=("ReplicaSet", "web-5d78c9869d")),
        pod("agent-k7x2p", container("agent"), owner=("DaemonSet", "agent")),
    )
    dump = read_kubernetes(io.BytesIO(document))
    assert [(c.workload_kind, c.workload_name, c.owner) for c in dump.containers] == [
        ("Pod", "web-5d78c9869d-x2x7q", "Deployment/web"),
        ("Pod", "agent-k7x2p", "DaemonSet/agent"),
        ("Deployment", "batch", ""),
    ]


@pytest.mark.parametrize("path", [AKS_DUMP, ARC_DUMP, LAB_DUMP])
def test_kubectl_lists_and_wrappers_are_detected(path):
    # aks-prod.json is larger than the detected head: its "kind": "List" comes last, as kubectl sorts keys.
    assert path.stat().st_size > 8192
    assert detect_format(path.read_bytes()[:8192]) == "kubernetes"


def test_defender_exports_are_still_defender():
    assert detect_format((FIXTURES / "defender" / "arg-assessments.json").read_bytes()[:8192]) == "defender"


def test_dump_imports_for_the_cluster_named_by_resource():
    aks = cluster()
    result = ingest_file(AKS_DUMP, resource=AKS)
    assert result.status == "imported", result.error
    assert result.format == "kubernetes"
    assert result.counts == {
        "resource_id": AKS,
        "namespaces": 7,
        "deployments": 7,
        "daemonsets": 2,
        "pods": 14,
        "skipped_other_kinds": 0,
        "containers": 19,
        "containers_in_excluded_namespaces": 9,
        "apparmor_violations": 4,
        "policy_addon": "healthy",
        "apparmor": "unhealthy",
    }
    snapshot = ClusterSnapshot.objects.get(cluster=aks)
    assert snapshot.counts["Pod"] == 14
    assert sorted(
        (w["namespace"], w["name"], w["replicas"], w["ready"]) for w in snapshot.policy_workloads
    ) == [
        ("gatekeeper-system", "gatekeeper-controller-manager", 2, 2),
        ("kube-system", "azure-policy", 1, 1),
        ("kube-system", "azure-policy-webhook", 1, 1),
    ]


def test_one_row_per_offending_container_outside_the_excluded_namespaces():
    aks = cluster()
    ingest_file(AKS_DUMP, resource=AKS)
    # kube-system/kube-proxy runs unconfined too, but kube-system is excluded; node-exporter runs a
    # localhost profile, which is allowed.
    assert violations(aks) == {
        ("default", "Pod", "debug-shell", "", "debugger-x7k2p", "ephemeral_container", "unconfined",
         "container_security_context"),
        ("shop", "Pod", "web-6d4cf56db6-h4j9s", "Deployment/web", "log-shipper", "container", "unconfined",
         "container_security_context"),
        ("shop", "Pod", "web-6d4cf56db6-zl2pq", "Deployment/web", "log-shipper", "container", "unconfined",
         "container_security_context"),
        # Scaled to zero: only its pod template says how it runs.
        ("shop", "Deployment", "payments", "", "migrate", "init_container", "unconfined",
         "container_security_context"),
    }  # fmt: skip
    snapshot = ClusterSnapshot.objects.get(cluster=aks)
    assert set(AppArmorViolation.objects.values_list("imported_at", flat=True)) == {snapshot.imported_at}


def test_the_wrapper_names_the_cluster_by_resource_id_or_by_name():
    arc = cluster(ARC, "arc-edge")
    lab = make_resource(name="lab-kind", kind="k8s_cluster", os="", resource_id="onprem:lab-kind")
    assert ingest_file(ARC_DUMP).counts["resource_id"] == ARC
    assert ingest_file(LAB_DUMP).counts["resource_id"] == "onprem:lab-kind"
    assert ClusterSnapshot.objects.filter(cluster__in=[arc, lab]).count() == 2
    # The same cluster named twice is fine; two different ones are not.
    assert ingest_file(ARC_DUMP, resource=ARC.upper()).status == "imported"
    refused = ingest_file(LAB_DUMP, resource=ARC)
    assert refused.error == f"the file names cluster 'lab-kind', but --resource names {ARC!r}"


def test_each_import_replaces_the_clusters_evidence():
    aks = cluster()
    ingest_file(AKS_DUMP, resource=AKS)
    first = violations(aks)
    ingest_file(AKS_DUMP, resource=AKS)
    assert violations(aks) == first
    assert AppArmorViolation.objects.count() == 4
    assert ClusterSnapshot.objects.count() == 1
    document = json.loads(AKS_DUMP.read_bytes())
    document["items"] = [item for item in document["items"] if item["metadata"].get("namespace") != "shop"]
    ingest_stream(io.BytesIO(json.dumps(document).encode()), file_format="kubernetes", resource_hint=AKS)
    assert {row[2] for row in violations(aks)} == {"debug-shell"}


def test_manage_py_ingest_reports_the_counts_as_json():
    call_command("ingest", str(INVENTORY), stdout=StringIO())
    out = StringIO()
    call_command("ingest", "--json", "--resource", AKS, str(AKS_DUMP), stdout=out)
    line = json.loads(out.getvalue())
    assert (line["file"], line["format"], line["status"], line["error"]) == (
        str(AKS_DUMP),
        "kubernetes",
        "imported",
        None,
    )
    assert (line["pods"], line["apparmor_violations"], line["policy_addon"], line["apparmor"]) == (
        14,
        4,
        "healthy",
        "unhealthy",
    )


def rejected(tmp_path, content: bytes, *, resource: str | None = AKS, file_format: str | None = None) -> str:
    """Import a bad file over a cluster that already has a dump; it must change nothing."""
    path = tmp_path / "dump.json"
    path.write_bytes(content)
    before = database_state()
    result = ingest_file(path, file_format=file_format, resource=resource)
    assert result.status == "rejected"
    assert database_state() == before
    assert result.error is not None
    assert "\n" not in result.error
    return result.error


@pytest.fixture
def imported():
    cluster()
    make_resource(name="web-01", resource_id="/test/web-01")
    assert ingest_file(AKS_DUMP, resource=AKS).status == "imported"


A_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-6d4cf56db6-h4j9s",
        "namespace": "shop",
        "uid": "d1af496a-04fc-537d-bed3-b8bc9bdebb1e",
    },
    "spec": {"containers": [{"image": "nginx:1.27", "name": "nginx"}]},
    "status": {"phase": "Running"},
}
YAML = b"""apiVersion: v1
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: default
kind: List
"""


COMMAND = "`kubectl get namespaces,deployments,daemonsets,pods -A -o json`"
BAD_DUMPS = [
    pytest.param(
        json.dumps(A_POD, indent=4).encode(),
        {},
        f"a single Pod object (web-6d4cf56db6-h4j9s), not a List: export the cluster with {COMMAND}",
        id="single-pod",
    ),
    pytest.param(
        YAML, {}, "a Kubernetes dump in YAML: export it as JSON (kubectl get ... -o json)", id="yaml"
    ),
    pytest.param(
        YAML,
        {"file_format": "kubernetes"},
        "not valid JSON (kubectl output must be JSON: -o json, not YAML): "
        "Expecting value at line 1, column 1",
        id="yaml-forced",
    ),
    pytest.param(
        AKS_DUMP.read_bytes()[:20000],
        {},
        "not valid JSON (the file ends early: truncated?): "
        "Unterminated string starting at line 517, column 41",
        id="truncated-in-a-string",
    ),
    pytest.param(
        AKS_DUMP.read_bytes()[:20000].rpartition(b",")[0],
        {},
        "not valid JSON (the file ends early: truncated?): Expecting ',' delimiter at line 516, column 53",
        id="truncated-between-values",
    ),
    pytest.param(
        kubectl_list(pod("p", container("a")), "oops"),  # type: ignore[arg-type]
        {},
        "item 3: expected a Kubernetes object, found a string",
        id="non-object-item",
    ),
    pytest.param(
        kubectl_list(pod("p", container("a")), pod("p", container("a"))),
        {},
        "item 3 (Pod default/p): the List holds this Pod 'p' twice",
        id="duplicate",
    ),
    pytest.param(
        kubectl_list({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
        {},
        "item 2 (Pod p): metadata.namespace is missing",
        id="no-namespace-field",
    ),
    pytest.param(
        json.dumps({"apiVersion": "v1", "items": [A_POD], "kind": "List"}).encode(),
        {},
        f"the List holds no Namespace: expected the whole output of {COMMAND} "
        "(namespaces, deployments, daemonsets and pods)",
        id="no-namespace-object",
    ),
    pytest.param(
        kubectl_list(pod("p", container("a", {"type": "Localhost"}))),
        {},
        "item 2 (Pod default/p): spec.containers[0].securityContext.appArmorProfile of type Localhost "
        "needs a localhostProfile",
        id="localhost-without-profile",
    ),
    pytest.param(
        AKS_DUMP.read_bytes(),
        {"resource": "/subscriptions/x/nope"},
        "--resource '/subscriptions/x/nope' is not a known resource",
        id="unknown-resource",
    ),
    pytest.param(
        AKS_DUMP.read_bytes(),
        {"resource": "/test/web-01"},
        "--resource '/test/web-01' is a virtual machine, not a Kubernetes cluster: "
        "a kubectl dump describes a k8s_cluster",
        id="not-a-cluster",
    ),
    pytest.param(
        AKS_DUMP.read_bytes(),
        {"resource": None},
        "the dump does not say which cluster it describes: use --resource with the cluster's "
        'resource id, or wrap it as {"cluster": "<resource id or name>", "list": <the kubectl List>}',
        id="no-cluster-named",
    ),
    pytest.param(
        json.dumps({"cluster": "aks-nowhere", "list": json.loads(AKS_DUMP.read_bytes())}).encode(),
        {"resource": None},
        "the file's 'cluster' 'aks-nowhere' is not a known resource",
        id="unknown-cluster-name",
    ),
    pytest.param(b"", {"file_format": "kubernetes"}, "the file is empty", id="empty"),
    pytest.param(
        b"[]",
        {"file_format": "kubernetes"},
        f"not a kubectl List: expected a JSON object, the output of {COMMAND}",
        id="json-array",
    ),
]


@pytest.mark.usefixtures("imported")
@pytest.mark.parametrize(("content", "options", "error"), BAD_DUMPS)
def test_bad_dumps_are_rejected_with_one_line_and_change_nothing(tmp_path, content, options, error):
    options = {"resource": AKS, **options}
    assert rejected(tmp_path, content, **options) == error


def test_ingest_stream_raises_the_rejection_for_a_bad_dump(imported):
    with pytest.raises(RejectedFile, match=r"^item 3: expected a Kubernetes object, found a number$"):
        ingest_stream(
            io.BytesIO(kubectl_list(pod("p", container("a")), 7)),  # type: ignore[arg-type]
            file_format="kubernetes",
            resource_hint=AKS,
        )


def test_the_command_fails_on_a_rejected_dump(tmp_path):
    cluster()
    bad = tmp_path / "pod.json"
    bad.write_text(json.dumps(A_POD))
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("ingest", "--json", "--resource", AKS, str(bad), stdout=out)
    assert json.loads(out.getvalue())["error"].startswith("a single Pod object")
