"""Auto-provisioning: a subscription's machines without an agent are "Pending agent installation".

Posture installs nothing itself: pending means the install command (posture/install_commands.py) is
waiting to be run, and the agent's first heartbeat ends it.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from posture.models import MACHINE_KINDS, AgentEvidence, AgentState, Resource, Subscription, Workspace


def mark_pending(resource_ids: Iterable[int]) -> list[int]:
    """Machines among these, in an auto-provisioned subscription and with no agent, become pending.

    A machine whose agent reported, or that an inventory says has one (even a failed one), is left as
    it is. Returns the ids marked, for their agent recommendations to be re-evaluated.
    """
    candidates = (
        Resource.objects.filter(
            pk__in=list(resource_ids),
            kind__in=MACHINE_KINDS,
            subscription__provisioning_workspace__isnull=False,
        )
        .exclude(agent_evidence=AgentEvidence.HEARTBEAT)
        .filter(Q(agent_evidence=AgentEvidence.NONE) | Q(agent_state=AgentState.NOT_INSTALLED))
    )
    marked = list(candidates.values_list("pk", flat=True))
    if marked:
        Resource.objects.filter(pk__in=marked).update(
            agent_state=AgentState.PENDING,
            agent_evidence=AgentEvidence.PROVISIONING,
            agent_error="",
            updated_at=timezone.now(),
        )
    return marked


@transaction.atomic
def switch_auto_provisioning(subscription: Subscription, workspace: Workspace | None) -> list[int]:
    """Turn auto-provisioning on (into `workspace`) or off; returns the machines whose agent state changed,
    for their agent recommendations to be re-evaluated.

    On, the subscription's machines without an agent become pending as well as the new ones, as when
    Defender's auto-provisioning is switched on. Off, the machines still pending by it are back to
    "Agent not installed" (auto-provisioning is then the evidence that nothing was installed).
    """
    subscription.provisioning_workspace = workspace
    subscription.save(update_fields=["provisioning_workspace"])
    machines = Resource.objects.filter(subscription=subscription)
    if workspace is not None:
        return mark_pending(machines.values_list("pk", flat=True))
    pending = machines.filter(agent_evidence=AgentEvidence.PROVISIONING, agent_state=AgentState.PENDING)
    reverted = list(pending.values_list("pk", flat=True))
    pending.update(agent_state=AgentState.NOT_INSTALLED, updated_at=timezone.now())
    return reverted
