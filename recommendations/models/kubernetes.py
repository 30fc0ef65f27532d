"""Kubernetes evidence from `kubectl` dumps: the latest dump of each cluster and its AppArmor violations.

Both are replaced for a cluster on each import of a dump of it, so they always describe the latest one.
The choices of the violations' columns are posture/choices.py's, which the kubectl importer uses.
"""

from django.db import models

from posture import lengths
from posture.choices import ContainerType as ContainerType
from posture.choices import ProfileSource as ProfileSource
from posture.choices import WorkloadKind as WorkloadKind
from posture.models import Resource


class ClusterSnapshot(models.Model):
    """What the latest dump of a cluster said, as far as the Kubernetes recommendations need it."""

    cluster = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="kubernetes_snapshot")
    imported_at = models.DateTimeField()
    file_sha256 = models.CharField(max_length=64, blank=True, default="")
    # Objects of the dump by kind and containers seen, e.g. {"Pod": 41, "containers": 77}.
    counts = models.JSONField(default=dict, blank=True)
    # The policy add-on and Gatekeeper Deployments found: [{"namespace", "name", "replicas", "ready"}].
    policy_workloads = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.cluster} dump of {self.imported_at:%Y-%m-%d %H:%M}"


class AppArmorViolation(models.Model):
    """A container that runs with AppArmor unconfined or with a profile outside the allowed list."""

    cluster = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="apparmor_violations")
    namespace = models.CharField(max_length=lengths.K8S_NAME)
    workload_kind = models.CharField(max_length=20, choices=WorkloadKind.choices)
    # A Pod's name, or a Deployment's / DaemonSet's when only its pod template was in the dump.
    workload_name = models.CharField(max_length=lengths.K8S_NAME)
    # A pod's controller as its ownerReferences name it, e.g. "Deployment/web" or "Job/backup-29001".
    owner = models.CharField(max_length=lengths.K8S_OWNER, blank=True, default="")
    container = models.CharField(max_length=lengths.K8S_NAME)
    container_type = models.CharField(max_length=20, choices=ContainerType.choices)
    # In the annotation's syntax: "unconfined", "runtime/default", "localhost/<name>", or as written.
    profile = models.CharField(max_length=lengths.APPARMOR_PROFILE)
    set_by = models.CharField(max_length=30, choices=ProfileSource.choices)
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["namespace", "workload_kind", "workload_name", "container"]
        indexes = [models.Index(fields=["cluster", "namespace"])]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.workload_kind}/{self.workload_name} {self.container}: {self.profile}"
