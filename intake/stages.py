"""What each stage of the import pipeline hands the next (intake/pipeline.py): plain values."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from posture.errors import RejectedFile
from posture.models import Resource
from recommendations.findings import ResultRow

# What a file came to: its counts, or why it was rejected.
Outcome = dict[str, Any] | RejectedFile


@dataclass(frozen=True)
class Move:
    """A machine that changed subscription, OS or kind: its findings' tallies follow it."""

    resource_id: int
    old_subscription_id: int
    old_os: str
    old_kind: str
    new_subscription_id: int
    new_os: str
    new_kind: str


@dataclass
class NewScan:
    """A scan the persist stage stored, with its kept results, for the findings stage."""

    resource: Resource
    scan_id: int
    scanned_at: datetime
    rows: list[tuple[int, ResultRow]]  # (rule id, result)


@dataclass
class Evaluations:
    """The resources each evaluator must look at again."""

    os_configuration: set[int] = field(default_factory=set)
    kubernetes: set[int] = field(default_factory=set)
    agents: set[int] = field(default_factory=set)

    def update(self, other: "Evaluations") -> None:
        self.os_configuration |= other.os_configuration
        self.kubernetes |= other.kubernetes
        self.agents |= other.agents


@dataclass
class Persisted:
    """What the persist stage wrote for a batch of files.

    `rounds` holds the new scans, each machine at most once a round, in the order of the files: the
    findings stage takes a round after the other, so a machine scanned twice in a batch has its
    findings derived as if its files had come one after the other.
    """

    outcomes: list[Outcome]  # per file, in the batch's order
    evidence: set[int] = field(default_factory=set)  # resources the files are evidence about
    # Whose score the rows moved by themselves: statuses written as they are (Defender's), machines
    # that changed subscription. Whatever the evaluators change is added by the pipeline.
    subscriptions: set[int] = field(default_factory=set)
    moves: list[Move] = field(default_factory=list)
    rounds: list[list[NewScan]] = field(default_factory=list)
    evaluations: Evaluations = field(default_factory=Evaluations)
    # The newest time a timed file (not a scan: those are in `rounds`) says its evidence is from.
    observed_at: datetime | None = None

    def evidence_time(self) -> datetime | None:
        """When the newest evidence the batch stored was observed (a scan's end time, a Defender
        export's newest date); None for files without a time (an inventory, a kubectl dump)."""
        moments = [scan.scanned_at for round_ in self.rounds for scan in round_]
        if self.observed_at is not None:
            moments.append(self.observed_at)
        return max(moments, default=None)
