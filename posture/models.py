"""The estate: subscriptions (the unit of scoring) and the resources in them.

The choices of its columns live in posture/choices.py, where the importers use them without a model.
"""

from collections.abc import Collection

from django.db import models

from posture import lengths
from posture.choices import MACHINE_KINDS as MACHINE_KINDS
from posture.choices import AgentState as AgentState
from posture.choices import Cloud as Cloud
from posture.choices import OperatingSystem as OperatingSystem
from posture.choices import PowerState as PowerState
from posture.choices import ResourceKind as ResourceKind
from posture.choices import machine_cloud


class Subscription(models.Model):
    """A scope: an Azure subscription, an AWS account or a GCP project (the unit Defender scores), or a
    group of on-premises machines named by an inventory."""

    name = models.CharField(max_length=lengths.SUBSCRIPTION_NAME, unique=True)
    cloud = models.CharField(max_length=10, choices=Cloud.choices, blank=True, default=Cloud.NONE)
    # The cloud's own id (an Azure subscription GUID, an AWS account number, a GCP project id) when known.
    external_id = models.CharField(max_length=200, unique=True, null=True, blank=True)
    # Auto-provisioning: on when set; new machines are then "Pending agent installation" and their
    # install commands enroll them in this workspace.
    provisioning_workspace = models.ForeignKey(
        "Workspace",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provisioned_subscriptions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_noun(self) -> str:
        """What the cloud calls this scope: an account, a project, a subscription."""
        return {Cloud.AWS: "Account", Cloud.GCP: "Project"}.get(Cloud(self.cloud), "Subscription")

    @property
    def qualified_id(self) -> str:
        """`aws:123456789012`, `gcp:my-project`, `azure:<guid>`: the native id with its cloud ('' when
        it has neither)."""
        if not self.cloud or not self.external_id:
            return ""
        return f"{self.cloud}:{self.external_id}"


class SubscriptionGroup(models.Model):
    """Subscriptions scored together, like a management group: `?subscription=group:<name>`."""

    name = models.CharField(max_length=200, unique=True)
    subscriptions = models.ManyToManyField(Subscription, related_name="groups", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentEvidence(models.TextChoices):
    """Who last told Posture about a machine's agent; nobody means its agent fields are not evidence."""

    NONE = "", "No agent data"
    INVENTORY = "inventory", "Inventory"
    HEARTBEAT = "heartbeat", "Agent heartbeat"
    PROVISIONING = "provisioning", "Auto-provisioning"


class Resource(models.Model):
    """A machine, scale set, scale-set instance or cluster."""

    # As the source spelled it; Azure ids are case-insensitive, so matching uses resource_key.
    resource_id = models.CharField(max_length=lengths.RESOURCE_ID)
    resource_key = models.CharField(max_length=1000, unique=True, editable=False)
    name = models.CharField(max_length=lengths.RESOURCE_NAME, db_index=True)
    kind = models.CharField(max_length=20, choices=ResourceKind.choices)
    os = models.CharField(max_length=10, choices=OperatingSystem.choices, blank=True, default="")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="resources")
    resource_group = models.CharField(max_length=lengths.RESOURCE_GROUP, blank=True, default="")
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="instances"
    )
    tags = models.JSONField(default=dict, blank=True)
    power_state = models.CharField(max_length=20, choices=PowerState.choices, default=PowerState.RUNNING)
    agent_state = models.CharField(
        max_length=20, choices=AgentState.choices, default=AgentState.NOT_INSTALLED
    )
    agent_version = models.CharField(max_length=lengths.AGENT_VERSION, blank=True, default="")
    workspace_id = models.CharField(max_length=lengths.WORKSPACE_ID, blank=True, default="")
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    agent_error = models.CharField(max_length=40, blank=True, default="")
    agent_evidence = models.CharField(
        max_length=20, choices=AgentEvidence.choices, blank=True, default=AgentEvidence.NONE
    )
    # Set when evidence (a scan, a heartbeat) named a machine nobody listed: shown, never dropped.
    discovered_from = models.CharField(max_length=100, blank=True, default="")
    # What the cloud's own tools say of the machine beyond the columns above (region or zone, instance
    # type, image, the SSM agent's managed state...): shown on its page, by the source that said it.
    cloud_details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["subscription", "kind"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.resource_key = resource_key(self.resource_id)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def cloud_label(self) -> str:
        return machine_cloud(self.subscription.cloud, self.kind)


class ResourceIdentifier(models.Model):
    """Another name one machine goes by in another source: an EC2 instance id or ARN, a GCP instance id,
    Defender's multicloud resource id. Each names one machine, so every source lands on the same one."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="identifiers")
    # Lowercased, as resource_key: AWS and GCP ids are lowercase, Azure ids compare case-insensitively.
    key = models.CharField(max_length=1000, unique=True)
    value = models.CharField(max_length=lengths.RESOURCE_ID)
    kind = models.CharField(max_length=30)

    class Meta:
        ordering = ["kind", "key"]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class ResourceSighting(models.Model):
    """A source that named a machine, and when: first and last import that did."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="sightings")
    source = models.CharField(max_length=60)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["first_seen", "source"]
        constraints = [models.UniqueConstraint(fields=["resource", "source"], name="one_sighting_per_source")]

    def __str__(self) -> str:
        return f"{self.resource_id} seen by {self.source}"


def with_instances(resource_ids: Collection[int]) -> "models.QuerySet[Resource]":
    """These resources and, for the scale sets among them, their instances."""
    return Resource.objects.filter(models.Q(pk__in=resource_ids) | models.Q(parent_id__in=resource_ids))


def resource_key(resource_id: str) -> str:
    """The matching key of a resource id: Azure resource ids compare case-insensitively."""
    return resource_id.strip().rstrip("/").lower()


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """An uploaded file and what became of it; the file itself lives outside the web root."""

    original_name = models.CharField(max_length=300)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    # What the uploader asked for: a forced format and a resource to attach a scan to.
    requested_format = models.CharField(max_length=30, blank=True, default="")
    resource_hint = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    detected_format = models.CharField(max_length=30, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    score_before = models.JSONField(null=True, blank=True)
    score_after = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="import_jobs"
    )
    # Set when an agent uploaded its own scan with its workspace's enrollment token.
    created_by_token = models.ForeignKey(
        "EnrollmentToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="import_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256", "requested_format", "resource_hint"], name="one_job_per_file_and_options"
            )
        ]
        indexes = [
            # Agents' imports done and waiting for the score snapshot that takes their change (at most
            # one a minute): found among every job ever run without reading them all.
            models.Index(
                fields=["finished_at"],
                name="importjob_waiting_for_score",
                condition=models.Q(status="done", score_after__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"import {self.pk} {self.original_name} ({self.status})"


class Workspace(models.Model):
    """A collector agents report to; it tells them which SCAP profile to run."""

    name = models.CharField(max_length=200, unique=True)
    # The id agents and inventories name the workspace by (inventory column `workspace_id`).
    workspace_id = models.SlugField(max_length=100, unique=True)
    scan_datastream = models.CharField(
        max_length=500, blank=True, default="", help_text="SCAP data stream path on the machines"
    )
    scan_profile = models.CharField(max_length=300, blank=True, default="", help_text="XCCDF profile id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EnrollmentToken(models.Model):
    """An agent's credential for a workspace: shown once, stored as a SHA-256 digest, revocable."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    # The first characters, to tell tokens apart in lists and logs without revealing them.
    prefix = models.CharField(max_length=12)
    # What it was issued for ("quick fix: 3 machines"), to tell tokens apart when revoking.
    label = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.workspace} {self.prefix}…"


class AgentError(models.TextChoices):
    """Errors an agent reports about itself in its heartbeat."""

    NONE = "", "None"
    CANNOT_CONNECT = "cannot_connect", "Agent cannot connect to workspace"
    INSTALL_FAILED = "install_failed", "Installation failed - general error"
    ALREADY_INSTALLED = "local_agent_already_installed", "Installation failed - local agent already installed"
    MISSING_VM_AGENT = "missing_vm_agent", "Missing or invalid Azure VM agent"
    NOT_READY = "vm_not_ready", "VM state not ready for installation"
