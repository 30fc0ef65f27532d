"""Kubernetes evidence from `kubectl` dumps: the latest dump of each cluster and its AppArmor violations.

Both are replaced for a cluster on each import of a dump of it, so they always describe the latest one.
"""

from django.db import models

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


class WorkloadKind(models.TextChoices):
    POD = "Pod", "Pod"
    DEPLOYMENT = "Deployment", "Deployment"
    DAEMON_SET = "DaemonSet", "DaemonSet"


class ContainerType(models.TextChoices):
    CONTAINER = "container", "Container"
    INIT = "init_container", "Init container"
    EPHEMERAL = "ephemeral_container", "Ephemeral container"


class ProfileSource(models.TextChoices):
    """Where a container's effective AppArmor profile was set."""

    POD_ANNOTATION = "pod_annotation", "Pod annotation"
    POD_SECURITY_CONTEXT = "pod_security_context", "Pod securityContext"
    CONTAINER_SECURITY_CONTEXT = "container_security_context", "Container securityContext"


class AppArmorViolation(models.Model):
    """A container that runs with AppArmor unconfined or with a profile outside the allowed list."""

    cluster = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="apparmor_violations")
    namespace = models.CharField(max_length=253)
    workload_kind = models.CharField(max_length=20, choices=WorkloadKind.choices)
    # A Pod's name, or a Deployment's / DaemonSet's when only its pod template was in the dump.
    workload_name = models.CharField(max_length=253)
    # A pod's controller as its ownerReferences name it, e.g. "Deployment/web" or "Job/backup-29001".
    owner = models.CharField(max_length=300, blank=True, default="")
    container = models.CharField(max_length=253)
    container_type = models.CharField(max_length=20, choices=ContainerType.choices)
    # In the annotation's syntax: "unconfined", "runtime/default", "localhost/<name>", or as written.
    profile = models.CharField(max_length=300)
    set_by = models.CharField(max_length=30, choices=ProfileSource.choices)
    imported_at = models.DateTimeField()

    class Meta:
        ordering = ["namespace", "workload_kind", "workload_name", "container"]
        indexes = [models.Index(fields=["cluster", "namespace"])]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.workload_kind}/{self.workload_name} {self.container}: {self.profile}"
