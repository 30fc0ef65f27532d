"""Agent enrollment tokens, and what a heartbeat writes of its machine: the estate's side of the agents.

Re-evaluating the agent recommendations after a heartbeat or a new workspace is intake's
(intake/agents.py).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from posture.errors import UserError
from posture.matching import find_or_discover_machine
from posture.models import AgentError, AgentEvidence, AgentState, EnrollmentToken, Resource, Workspace

log = logging.getLogger("posture.agents")
# Errors an installer reports: the agent is not working, whatever sent the heartbeat.
INSTALL_ERRORS = (
    AgentError.INSTALL_FAILED,
    AgentError.ALREADY_INSTALLED,
    AgentError.MISSING_VM_AGENT,
    AgentError.NOT_READY,
)
TOKEN_PREFIX = "pst_"  # noqa: S105 - a public marker that makes leaked tokens easy to find, not a secret


def _digest(token: str) -> str:
    # Tokens are 256 random bits: a fast digest is safe, and lets a lookup use an index.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: EnrollmentToken


def issue_token(*, workspace: Workspace, user: User | None = None, label: str = "") -> IssuedToken:
    """A new enrollment token; its value exists only in the return value, never in the database."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = EnrollmentToken.objects.create(
        workspace=workspace, digest=_digest(token), prefix=token[:12], created_by=user, label=label
    )
    return IssuedToken(token, record)


def revoke_token(record: EnrollmentToken) -> None:
    if record.revoked_at is None:
        record.revoked_at = timezone.now()
        record.save(update_fields=["revoked_at"])


def authenticate_token(token: str) -> EnrollmentToken | None:
    """The live token record for a presented token, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    record = EnrollmentToken.objects.select_related("workspace").filter(digest=_digest(token)).first()
    if record is None or record.revoked_at is not None:
        return None
    return record


@dataclass(frozen=True)
class Heartbeat:
    agent_version: str
    os: str
    workspace_id: str = ""
    resource_id: str = ""
    hostname: str = ""
    fqdn: str = ""
    error: str = ""


def save_heartbeat(*, token: EnrollmentToken, heartbeat: Heartbeat) -> tuple[Resource, bool]:
    """Update (or discover) the machine the heartbeat is from; returns (resource, created).

    The workspace is the token's: a heartbeat cannot move a machine into another workspace, nor claim a
    machine that reports to another registered workspace (it could then upload scans in its name).
    """
    workspace = token.workspace
    if heartbeat.workspace_id and heartbeat.workspace_id != workspace.workspace_id:
        raise UserError(
            f"workspace_id {heartbeat.workspace_id!r} is not this token's workspace "
            f"({workspace.workspace_id!r})"
        )
    resource, created = find_or_discover_machine(
        resource_id=heartbeat.resource_id,
        fqdn=heartbeat.fqdn,
        hostname=heartbeat.hostname,
        os=heartbeat.os,
        discovered_from="agent heartbeat",
    )
    if (
        resource.workspace_id
        and resource.workspace_id != workspace.workspace_id
        and Workspace.objects.filter(workspace_id=resource.workspace_id).exists()
    ):
        raise UserError(
            f"{resource.name} reports to workspace {resource.workspace_id!r}; change its workspace in the "
            "inventory (or the admin) before enrolling it in another"
        )
    now = timezone.now()
    resource.agent_state = (
        AgentState.INSTALL_FAILED if heartbeat.error in INSTALL_ERRORS else AgentState.INSTALLED
    )
    resource.agent_version = heartbeat.agent_version
    resource.workspace_id = workspace.workspace_id
    resource.agent_error = heartbeat.error
    resource.agent_evidence = AgentEvidence.HEARTBEAT
    resource.last_heartbeat = now
    if not resource.os and heartbeat.os:
        resource.os = heartbeat.os
    resource.save()
    EnrollmentToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return resource, created
