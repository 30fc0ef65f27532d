"""The Kubernetes recommendations evaluated from kubectl dumps: every status, precedence, the score."""

import io
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from intake.pipeline import ingest_file, ingest_stream
from posture.models import Resource
from recommendations.evaluators.kubernetes import evaluate_kubernetes, policy_verdict
from recommendations.models import AppArmorViolation, Assessment
from tests.factories import make_assessment, make_resource

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AKS_DUMP = FIXTURES / "kubernetes" / "aks-prod.json"
ARC_DUMP = FIXTURES / "kubernetes" / "arc-edge.wrapped.json"
LAB_DUMP = FIXTURES / "kubernetes" / "lab-kind.wrapped.json"
INVENTORY = FIXTURES / "inventory" / "estate.csv"
EXPORT = FIXTURES / "defender" / "arg-assessments.json"
SUBSCRIPTION = "/subscriptions/3f2a9c1e-0000-4000-8000-00000000a001"
AKS = f"{SUBSCRIPTION}/resourceGroups/prod-k8s/providers/Microsoft.ContainerService/managedClusters/aks-prod"
ARC = f"{SUBSCRIPTION}/resourceGroups/edge/providers/Microsoft.Kubernetes/connectedClusters/arc-edge"
POLICY = "k8s-policy-addon"
APPARMOR = "k8s-apparmor-restricted"
LOOKED_FOR = (
    "gatekeeper-system/gatekeeper-controller-manager, gatekeeper-system/gatekeeper-controller, "
    "kube-system/azure-policy, kube-system/azure-policy-webhook, azure-arc/azure-policy, "
    "azure-arc/azure-policy-webhook"
)


def status(resource, key):
    assessment = Assessment.objects.get(resource=resource, recommendation__key=key)
    return assessment.status, assessment.reason


def source(resource, key):
    return Assessment.objects.get(resource=resource, recommendation__key=key).source


def make_cluster(resource_id: str, name: str):
    return make_resource(name=name, kind="k8s_cluster", os="", resource_id=resource_id)


def ingest(path: Path, resource: str | None = None) -> dict:
    result = ingest_file(path, resource=resource)
    assert result.status == "imported", result.error
    return result.counts


def ingest_document(document: dict, resource: str | None = None) -> dict:
    return ingest_stream(
        io.BytesIO(json.dumps(document).encode()), file_format="kubernetes", resource_hint=resource
    )


def test_a_cluster_the_inventory_creates_is_not_applicable_until_a_dump_arrives():
    ingest(INVENTORY)
    aks = Resource.objects.get(name="aks-prod")
    assert status(aks, POLICY) == ("not_applicable", "No cluster data available")
    assert status(aks, APPARMOR) == ("not_applicable", "No cluster data available")
    # Machines get no Kubernetes assessment.
    assert (
        not Assessment.objects.filter(recommendation__key__in=[POLICY, APPARMOR])
        .exclude(resource=aks)
        .exists()
    )
    ingest(AKS_DUMP, AKS)
    assert status(aks, POLICY) == ("healthy", "")
    assert status(aks, APPARMOR)[0] == "unhealthy"
    # Listing the cluster again re-evaluates it from the stored dump, which changes nothing.
    before = list(Assessment.objects.order_by("pk").values())
    ingest(INVENTORY)
    assert list(Assessment.objects.order_by("pk").values()) == before


def test_a_dump_with_containers_outside_the_allowed_list_is_unhealthy_and_names_the_first():
    aks = make_cluster(AKS, "aks-prod")
    ingest(AKS_DUMP, AKS)
    assert status(aks, APPARMOR) == (
        "unhealthy",
        "4 containers run with AppArmor profiles outside the allowed list: "
        "default/Pod/debug-shell container debugger-x7k2p: unconfined; "
        "shop/Deployment/payments container migrate: unconfined; "
        "shop/Pod/web-6d4cf56db6-h4j9s container log-shipper: unconfined; and 1 more",
    )
    assert source(aks, APPARMOR) == "kubernetes_dump"
    assert status(aks, POLICY) == ("healthy", "")


def test_a_workload_defined_only_by_its_pod_template_counts():
    aks = make_cluster(AKS, "aks-prod")
    document = json.loads(AKS_DUMP.read_bytes())
    # Keep shop/payments (scaled to zero, no pod) as the only offender.
    document["items"] = [
        item
        for item in document["items"]
        if item["metadata"]["name"] != "debug-shell" and not item["metadata"]["name"].startswith("web")
    ]
    assert ingest_document(document, AKS)["apparmor_violations"] == 1
    assert status(aks, APPARMOR) == (
        "unhealthy",
        "1 container runs with an AppArmor profile outside the allowed list: "
        "shop/Deployment/payments container migrate: unconfined",
    )
    row = AppArmorViolation.objects.get(cluster=aks)
    assert (row.workload_kind, row.container_type, row.set_by) == (
        "Deployment",
        "init_container",
        "container_security_context",
    )


def test_a_container_level_override_of_a_runtime_default_pod_is_unhealthy():
    arc = make_cluster(ARC, "arc-edge")
    counts = ingest(ARC_DUMP)
    # azure-arc/clusterconnect-agent runs unconfined too, in an excluded namespace.
    assert (counts["apparmor_violations"], counts["containers_in_excluded_namespaces"]) == (1, 7)
    assert status(arc, APPARMOR) == (
        "unhealthy",
        "1 container runs with an AppArmor profile outside the allowed list: "
        "edge/Pod/edge-gateway-5f7c8d9b6a-b8l3n container tcpdump: unconfined",
    )
    row = AppArmorViolation.objects.get(cluster=arc)
    assert (row.owner, row.container, row.profile, row.set_by) == (
        "Deployment/edge-gateway",
        "tcpdump",
        "unconfined",
        "container_security_context",
    )
    # One of three Gatekeeper replicas is ready: the webhook answers, so Healthy, and the reason says so.
    assert status(arc, POLICY) == (
        "healthy",
        "gatekeeper-system/gatekeeper-controller-manager: 1 of 3 replicas ready",
    )


def test_a_cluster_without_policy_add_on_is_unhealthy_and_its_system_namespaces_are_excluded():
    lab = make_resource(name="lab-kind", kind="k8s_cluster", os="", resource_id="onprem:lab-kind")
    ingest(LAB_DUMP)
    assert status(lab, POLICY) == (
        "unhealthy",
        f"no policy add-on or Gatekeeper controller found (looked for Deployments {LOOKED_FOR})",
    )
    # kube-system/kindnet runs unconfined; wiki uses runtime/default and a localhost profile.
    assert status(lab, APPARMOR) == ("healthy", "")


def test_a_gatekeeper_controller_with_no_ready_replica_is_unhealthy():
    arc = make_cluster(ARC, "arc-edge")
    document = json.loads(ARC_DUMP.read_bytes())
    for item in document["list"]["items"]:
        if item["kind"] == "Deployment" and item["metadata"]["name"] == "gatekeeper-controller-manager":
            # The API server leaves readyReplicas out when it is zero.
            del item["status"]["readyReplicas"], item["status"]["availableReplicas"]
    ingest_document(document)
    assert status(arc, POLICY) == (
        "unhealthy",
        "gatekeeper-system/gatekeeper-controller-manager: 0 of 3 replicas ready",
    )


def workload(namespace: str, name: str, replicas: int, ready: int) -> dict:
    return {"namespace": namespace, "name": name, "replicas": replicas, "ready": ready}


def test_policy_verdicts():
    only_addon = policy_verdict(
        [workload("kube-system", "azure-policy", 1, 1), workload("shop", "web", 2, 2)]
    )
    assert (only_addon.status, only_addon.reason) == (
        "unhealthy",
        "no Gatekeeper controller found (looked for gatekeeper-system/gatekeeper-controller-manager, "
        "gatekeeper-system/gatekeeper-controller); found only kube-system/azure-policy",
    )
    addon_down = policy_verdict(
        [
            workload("gatekeeper-system", "gatekeeper-controller", 2, 2),
            workload("kube-system", "azure-policy", 1, 0),
        ]
    )
    assert (addon_down.status, addon_down.reason) == (
        "unhealthy",
        "kube-system/azure-policy: 0 of 1 replica ready",
    )
    arc = policy_verdict(
        [
            workload("gatekeeper-system", "gatekeeper-controller-manager", 3, 3),
            workload("azure-arc", "azure-policy", 1, 1),
        ]
    )
    assert (arc.status, arc.reason) == ("healthy", "")
    nothing = policy_verdict([])
    assert (nothing.status, nothing.reason) == (
        "unhealthy",
        f"no policy add-on or Gatekeeper controller found (looked for Deployments {LOOKED_FOR})",
    )


def test_the_settings_decide_excluded_namespaces_and_allowed_profiles(settings):
    lab = make_resource(name="lab-kind", kind="k8s_cluster", os="", resource_id="onprem:lab-kind")
    settings.POSTURE_K8S_EXCLUDED_NAMESPACES = []
    settings.POSTURE_K8S_ALLOWED_APPARMOR = ["runtime/default", "unconfined"]
    assert ingest(LAB_DUMP)["apparmor_violations"] == 3
    # kube-system is no longer excluded, localhost/* no longer allowed, and unconfined never is.
    assert status(lab, APPARMOR) == (
        "unhealthy",
        "3 containers run with AppArmor profiles outside the allowed list: "
        "kube-system/Pod/kindnet-7kqbn container kindnet-cni: unconfined; "
        "kube-system/Pod/kindnet-g2x8d container kindnet-cni: unconfined; "
        "wiki/Pod/wiki-7b5f4c9d8e-p3k7d container backup: localhost/wiki-backup",
    )
    assert AppArmorViolation.objects.get(container="backup").set_by == "pod_annotation"


def test_dump_evidence_wins_over_a_defender_status_and_no_dump_does_not():
    aks = make_cluster(AKS, "aks-prod")
    make_assessment(aks, POLICY, "unhealthy", reason="from Defender")
    Assessment.objects.filter(resource=aks).update(source="defender_export")
    evaluate_kubernetes([aks.pk])
    assert status(aks, POLICY) == ("unhealthy", "from Defender")
    assert source(aks, POLICY) == "defender_export"
    assert status(aks, APPARMOR) == ("not_applicable", "No cluster data available")
    ingest(AKS_DUMP, AKS)
    assert status(aks, POLICY) == ("healthy", "")
    assert source(aks, POLICY) == "kubernetes_dump"


def test_a_defender_export_after_a_dump_keeps_the_dumps_status():
    ingest(INVENTORY)
    ingest(AKS_DUMP, AKS)
    aks = Resource.objects.get(name="aks-prod")
    # The export says the policy add-on is Unhealthy on aks-prod; the dump said Healthy. (The other four
    # kept are agent statuses, evaluated from the inventory's agent columns.)
    assert ingest(EXPORT)["kept_own_evidence"] == 5
    assert status(aks, POLICY) == ("healthy", "")
    assert source(aks, POLICY) == "kubernetes_dump"


def test_only_clusters_are_evaluated():
    vm = make_resource(name="vm-1")
    evaluate_kubernetes([vm.pk])
    assert not Assessment.objects.exists()


def score_json() -> dict:
    out = StringIO()
    call_command("score", "--json", stdout=out)
    return json.loads(out.getvalue())


def remediate_security_configurations(document: dict) -> dict:
    return next(c for c in document["controls"] if c["name"] == "Remediate security configurations")


def test_the_score_document_shows_the_preview_statuses_without_counting_them(settings, fixture_time):
    ingest(INVENTORY)
    ingest(EXPORT)
    before = score_json()
    ingest(AKS_DUMP, AKS)
    document = score_json()
    recs = {r["key"]: r for r in remediate_security_configurations(document)["recommendations"]}
    assert {k: recs[POLICY][k] for k in ("preview", "healthy", "unhealthy", "not_applicable")} == {
        "preview": True,
        "healthy": 1,
        "unhealthy": 0,
        "not_applicable": 0,
    }
    assert {k: recs[APPARMOR][k] for k in ("preview", "healthy", "unhealthy", "not_applicable")} == {
        "preview": True,
        "healthy": 0,
        "unhealthy": 1,
        "not_applicable": 0,
    }
    assert (
        document["secure_score"] == before["secure_score"] == {"current": 0.8, "max": 4, "percentage": 0.1667}
    )
    settings.POSTURE_COUNT_PREVIEW = True
    counted = remediate_security_configurations(score_json())
    # aks-prod now counts, unhealthy for AppArmor: 1 healthy of 6 in Production, round(4 x 1 / 6, 2);
    # Lab's lab-01 counts too, unhealthy for the Linux Arc agent (0 points of Lab's).
    assert (counted["healthy"], counted["unhealthy"], counted["current"]) == (1, 6, 0.67)


def test_the_cluster_page_lists_each_offending_container_and_the_policy_workloads(admin_client):
    arc = make_cluster(ARC, "arc-edge")
    empty = admin_client.get(f"/resources/{arc.pk}/").content.decode()
    assert "No cluster data available" in empty
    ingest(ARC_DUMP)
    html = admin_client.get(f"/resources/{arc.pk}/").content.decode()
    assert "Kubernetes evidence" in html
    assert "<td>edge</td>" in html
    assert "Pod/edge-gateway-5f7c8d9b6a-b8l3n" in html
    assert "(Deployment/edge-gateway)" in html
    assert "<code>unconfined</code>" in html
    assert "Container securityContext" in html
    assert "<td>gatekeeper-system</td><td>gatekeeper-controller-manager</td><td>1 of 3</td>" in html
    vm = make_resource(name="vm-1")
    assert "Kubernetes evidence" not in admin_client.get(f"/resources/{vm.pk}/").content.decode()
