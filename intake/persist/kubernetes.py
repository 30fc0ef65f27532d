"""Persists a `kubectl` dump of a cluster: its snapshot and AppArmor violations (its assessments follow
in the evaluate stage)."""

from typing import Any

from django.utils import timezone

from intake.stages import Evaluations, Persisted
from posture.errors import RejectedFile
from posture.importers.kubernetes import KubernetesDump
from posture.models import Resource, ResourceKind, resource_key
from recommendations.evaluators.kubernetes import (
    APPARMOR_KEY,
    POLICY_DEPLOYMENTS,
    POLICY_KEY,
    is_apparmor_violation,
    is_excluded_namespace,
)
from recommendations.models import AppArmorViolation, Assessment, ClusterSnapshot


def match_cluster(named: str, hint: str | None) -> Resource:
    """The cluster a dump describes: --resource, else the wrapper's resource id or cluster name."""
    if hint:
        cluster = _find(hint, "--resource")
        if named and _find(named, "the file's 'cluster'") != cluster:
            raise RejectedFile(f"the file names cluster {named!r}, but --resource names {hint!r}")
        return cluster
    if named:
        return _find(named, "the file's 'cluster'")
    raise RejectedFile(
        "the dump does not say which cluster it describes: use --resource with the cluster's resource id, "
        'or wrap it as {"cluster": "<resource id or name>", "list": <the kubectl List>}'
    )


def _find(reference: str, given_by: str) -> Resource:
    resource = Resource.objects.filter(resource_key=resource_key(reference)).first()
    if resource is None:
        by_name = list(Resource.objects.filter(name__iexact=reference.strip(), kind=ResourceKind.K8S_CLUSTER))
        if len(by_name) > 1:
            listed = ", ".join(sorted(r.resource_id for r in by_name)[:5])
            raise RejectedFile(
                f"{given_by} {reference!r} matches {len(by_name)} clusters ({listed}); name its resource id"
            )
        if not by_name:
            raise RejectedFile(f"{given_by} {reference!r} is not a known resource")
        resource = by_name[0]
    if resource.kind != ResourceKind.K8S_CLUSTER:
        raise RejectedFile(
            f"{given_by} {reference!r} is a {resource.get_kind_display().lower()}, not a Kubernetes "
            "cluster: a kubectl dump describes a k8s_cluster"
        )
    return resource


def persist_kubernetes(dump: KubernetesDump, *, file_sha256: str, resource_hint: str | None) -> Persisted:
    """Replace what the cluster's last dump said; the counts' statuses come once it is evaluated
    (`cluster_statuses`)."""
    cluster = match_cluster(dump.cluster, resource_hint)
    now = timezone.now()
    policy_workloads = [
        {"namespace": c.namespace, "name": c.name, "replicas": c.desired, "ready": c.ready}
        for c in dump.controllers
        if c.kind == "Deployment" and (c.namespace, c.name) in POLICY_DEPLOYMENTS
    ]
    ClusterSnapshot.objects.update_or_create(
        cluster=cluster,
        defaults={
            "imported_at": now,
            "file_sha256": file_sha256,
            "counts": dump.counts,
            "policy_workloads": policy_workloads,
        },
    )
    violations = [
        AppArmorViolation(
            cluster=cluster,
            namespace=c.namespace,
            workload_kind=c.workload_kind,
            workload_name=c.workload_name,
            owner=c.owner,
            container=c.container,
            container_type=c.container_type,
            profile=c.profile,
            set_by=c.set_by,
            imported_at=now,
        )
        for c in dump.containers
        if is_apparmor_violation(c.namespace, c.profile)
    ]
    AppArmorViolation.objects.filter(cluster=cluster).delete()
    AppArmorViolation.objects.bulk_create(violations, batch_size=2000)
    counts: dict[str, Any] = {
        "resource_id": cluster.resource_id,
        "namespaces": dump.counts.get("Namespace", 0),
        "deployments": dump.counts.get("Deployment", 0),
        "daemonsets": dump.counts.get("DaemonSet", 0),
        "pods": dump.counts.get("Pod", 0),
        "skipped_other_kinds": dump.counts.get("other", 0),
        "containers": len(dump.containers),
        "containers_in_excluded_namespaces": sum(
            1 for c in dump.containers if is_excluded_namespace(c.namespace)
        ),
        "apparmor_violations": len(violations),
        "_cluster": cluster.pk,
    }
    return Persisted(
        outcomes=[counts],
        evidence={cluster.pk},
        evaluations=Evaluations(kubernetes={cluster.pk}),
    )


def cluster_statuses(counts: dict[str, Any]) -> dict[str, Any]:
    """A dump's counts with the statuses its cluster was evaluated to."""
    counts = dict(counts)
    statuses = dict(
        Assessment.objects.filter(
            resource_id=counts.pop("_cluster"), recommendation__key__in=[POLICY_KEY, APPARMOR_KEY]
        ).values_list("recommendation__key", "status")
    )
    counts["policy_addon"] = statuses.get(POLICY_KEY, "")
    counts["apparmor"] = statuses.get(APPARMOR_KEY, "")
    return counts
