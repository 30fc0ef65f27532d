"""What agents tell about themselves, taken in: a heartbeat, a new workspace or auto-provisioning
switched on or off, then the agent recommendations re-evaluated (and, for a heartbeat that changed one,
the score snapshot, coalesced with the other agents': at most one a minute)."""

from django.db import transaction
from django.utils import timezone

from intake.snapshots import snapshot_run
from posture.agents import Heartbeat, save_heartbeat
from posture.models import EnrollmentToken, Resource, Subscription, Workspace
from posture.provisioning import switch_auto_provisioning
from recommendations.evaluators.agents import evaluate_agents, evaluate_all_agents


@transaction.atomic
def record_heartbeat(*, token: EnrollmentToken, heartbeat: Heartbeat) -> tuple[Resource, bool]:
    """Update (or discover) the machine the heartbeat is from and re-evaluate its agent; returns
    (resource, created)."""
    resource, created = save_heartbeat(token=token, heartbeat=heartbeat)
    changed = evaluate_agents([resource.pk], now=resource.last_heartbeat or timezone.now())
    if changed:
        snapshot_run({resource.subscription_id}, coalesce=True)
    return resource, created


def register_workspace(
    *, workspace_id: str, name: str, datastream: str = "", profile: str = ""
) -> tuple[Workspace, bool]:
    """Register (or update) a workspace; machines that named it stop being "unknown workspace" at once."""
    workspace, created = Workspace.objects.update_or_create(
        workspace_id=workspace_id,
        defaults={"name": name, "scan_datastream": datastream, "scan_profile": profile},
    )
    if created:
        evaluate_all_agents()
    return workspace, created


@transaction.atomic
def set_auto_provisioning(subscription: Subscription, workspace: Workspace | None) -> int:
    """Turn the subscription's auto-provisioning on (into `workspace`) or off and re-evaluate the machines
    it changed; returns how many changed."""
    changed = switch_auto_provisioning(subscription, workspace)
    evaluate_agents(changed)
    return len(changed)
