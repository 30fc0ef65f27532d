"""The plain records importers produce and the ingest service persists."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ResourceRecord:
    """One row of the inventory CSV (formats/inventory.md)."""

    line: int
    resource_id: str
    name: str
    kind: str
    os: str
    subscription: str
    resource_group: str = ""
    parent_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    power_state: str = "running"
    agent_state: str = "not_installed"
    agent_version: str = ""
    workspace_id: str = ""
    last_heartbeat: datetime | None = None


@dataclass(frozen=True)
class AssessmentRecord:
    """One assessment of a Defender export: a recommendation's status on a resource."""

    position: int
    assessment_key: str
    display_name: str
    resource_id: str
    subscription_id: str
    resource_group: str
    status: str
    cause: str
    reason: str
    first_evaluated: datetime | None
    status_changed: datetime | None
