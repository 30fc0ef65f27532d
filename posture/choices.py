"""The closed sets of values files and rows share (resource kinds, statuses, where a profile was set),
defined once below both the importers, which read them from files, and the models, which store them."""

from django.db import models


class Cloud(models.TextChoices):
    """Where a subscription, account or project lives. A subscription only an inventory named has none
    said: its machines are Azure's, or on-premises Arc machines."""

    AZURE = "azure", "Azure"
    AWS = "aws", "AWS"
    GCP = "gcp", "GCP"
    NONE = "", "Unspecified"


class ResourceKind(models.TextChoices):
    VM = "vm", "Virtual machine"
    VMSS = "vmss", "Virtual machine scale set"
    VMSS_INSTANCE = "vmss_instance", "Scale set instance"
    ARC_MACHINE = "arc_machine", "Arc machine"
    K8S_CLUSTER = "k8s_cluster", "Kubernetes cluster"


# The kinds that are one machine (run an agent, get scanned), unlike a scale set or a cluster.
MACHINE_KINDS = (ResourceKind.VM, ResourceKind.ARC_MACHINE, ResourceKind.VMSS_INSTANCE)


def machine_cloud(cloud: str, kind: str) -> str:
    """Where a resource runs, as pages and exports name it: AWS or GCP by its account or project; else
    an Arc machine is on-premises (Arc onboards the others) and anything else is Azure's."""
    if cloud in (Cloud.AWS, Cloud.GCP):
        return str(Cloud(cloud).label)
    return "On-premises" if kind == ResourceKind.ARC_MACHINE else str(Cloud.AZURE.label)


class OperatingSystem(models.TextChoices):
    LINUX = "linux", "Linux"
    WINDOWS = "windows", "Windows"
    UNKNOWN = "", "Unknown"


class PowerState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    DEALLOCATED = "deallocated", "Deallocated"


class AgentState(models.TextChoices):
    INSTALLED = "installed", "Installed"
    NOT_INSTALLED = "not_installed", "Not installed"
    PENDING = "pending", "Pending installation"
    INSTALL_FAILED = "install_failed", "Installation failed"


class AssessmentStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    UNHEALTHY = "unhealthy", "Unhealthy"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


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
