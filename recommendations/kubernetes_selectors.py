"""Reads behind a cluster's evidence on its resource page: its latest dump and AppArmor violations."""

from typing import Any

from posture.models import Resource, ResourceKind
from recommendations.models import AppArmorViolation, ClusterSnapshot


def cluster_evidence(resource: Resource) -> dict[str, Any]:
    """The latest kubectl dump of a cluster and every offending container (empty for other kinds)."""
    if resource.kind != ResourceKind.K8S_CLUSTER:
        return {"is_cluster": False}
    return {
        "is_cluster": True,
        "cluster_snapshot": ClusterSnapshot.objects.filter(cluster=resource).first(),
        "apparmor_violations": list(AppArmorViolation.objects.filter(cluster=resource)),
    }
