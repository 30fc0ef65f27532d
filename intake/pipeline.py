"""The import pipeline, stage by stage: read → persist → findings → evaluate → governance → score.

A run imports its files in batches, one transaction each: scan files together, any other file alone
(a single file is a batch of one, the same way). Each stage takes what the one before returned and
never calls the next; `_import_batch` calls them in order. The score snapshot is taken once, when the
run ends, for the estate and the subscriptions the run touched.

A file imports whole or not at all: a rejected file is reported with its reason and changes nothing,
while the other files of its batch go in.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from governance.sync import follow_evidence
from intake.findings import Changes, derive_findings
from intake.persist.assessments import persist_assessments
from intake.persist.bulk import chunks, refresh_planner_statistics
from intake.persist.cloud_findings import persist_cloud_findings
from intake.persist.cloud_machines import persist_cloud_machines
from intake.persist.inventory import persist_inventory
from intake.persist.kubernetes import cluster_statuses, persist_kubernetes
from intake.persist.reported_scores import persist_reported_scores
from intake.persist.scans import persist_scan_files, scan_counts
from intake.reading import (
    BATCH_RESULTS,
    CLOUD_READERS,
    FINDING_READERS,
    SCAN_FORMATS,
    Progress,
    ReadFile,
    Source,
    read_batches,
    read_file,
)
from intake.snapshots import ScoreChange, snapshot_run
from intake.stages import Evaluations, Outcome, Persisted
from posture.errors import RejectedFile
from posture.models import Resource
from recommendations.evaluators.agents import evaluate_agents
from recommendations.evaluators.kubernetes import evaluate_kubernetes
from recommendations.evaluators.os_config import evaluate_os_configuration
from recommendations.models import Benchmark

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    file: str
    format: str | None
    status: str
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    # The import's own time: its share of its batch's (read, write, every stage) and of the snapshot.
    seconds: float = 0.0


class ImportRun:
    """One import run: files go through the stages batch by batch (`import_sources`, as often as
    needed), then `finish` takes the run's one score snapshot.

    `coalesce`: the run is an agent's, whose snapshot may wait up to a minute for others'."""

    def __init__(self, *, coalesce: bool = False) -> None:
        self.coalesce = coalesce
        self.subscriptions: set[int] = set()
        self.imported: list[IngestResult] = []
        # The newest evidence time of the run's files (scans' end times, Defender's dates): its
        # snapshot's time. None while only files without a time (inventories, dumps) came.
        self.observed_at: datetime | None = None

    def import_sources(
        self, sources: Sequence[Source], *, batch_results: int = BATCH_RESULTS
    ) -> list[IngestResult]:
        """Import every source; one result per source, in the order given."""
        results: dict[int, IngestResult] = {}
        started = time.perf_counter()
        for batch in read_batches(sources, known_benchmarks(), batch_results):
            results.update(self._import_batch(batch, time.perf_counter() - started))
            started = time.perf_counter()
        ordered = [results[index] for index in range(len(sources))]
        self.imported += [r for r in ordered if r.status == "imported"]
        return ordered

    def finish(self) -> ScoreChange | None:
        """The score snapshot of everything the run touched (None when it touched nothing); its time is
        shared out to the files imported."""
        if not self.subscriptions:
            return None
        started = time.perf_counter()
        with transaction.atomic():
            change = snapshot_run(self.subscriptions, coalesce=self.coalesce, observed_at=self.observed_at)
        _share([(result, 1) for result in self.imported], time.perf_counter() - started)
        return change

    def _import_batch(self, batch: list[ReadFile], waited: float) -> list[tuple[int, IngestResult]]:
        accepted = [read for read in batch if read.refused is None]
        outcomes: dict[int, Outcome] = {read.index: read.refused for read in batch if read.refused}
        started = time.perf_counter()
        if accepted:
            try:
                with transaction.atomic():
                    evidence_at = timezone.now()
                    persisted = persist(accepted)
                    changes = derive_findings(persisted.moves, persisted.rounds)
                    changed = evaluate(persisted.evaluations)
                    followed = follow_evidence(persisted.evidence | changed, evidence_at=evidence_at)
                    counts = report(persisted.outcomes, changes, followed)
                    # The score moves with assessments: the ones the rows changed themselves (and the
                    # machines that moved), the evaluators', and governance's (exemptions) if it did
                    # anything. A file imported again moves nothing, and takes no snapshot.
                    governed = persisted.evidence | changed if any(followed.values()) else set()
                    self.subscriptions |= persisted.subscriptions | subscriptions_of(changed | governed)
                    observed = persisted.evidence_time()
                    if observed is not None and (self.observed_at is None or observed > self.observed_at):
                        self.observed_at = observed
            except RejectedFile as error:
                if len(accepted) > 1:
                    return self._one_by_one(accepted, waited)
                counts = [error]
            except DatabaseError:
                if len(accepted) == 1:
                    raise
                logger.warning(
                    "a batch of %d files failed; importing them one by one", len(accepted), exc_info=True
                )
                return self._one_by_one(accepted, waited)
            outcomes.update(zip((read.index for read in accepted), counts, strict=True))
            if not connection.in_atomic_block:
                refresh_planner_statistics()
        results = [(read, _result(read, outcomes[read.index])) for read in batch]
        for read, result in results:
            if result.status != "imported":
                result.seconds = read.seconds
        # The batch's time (waiting for it to be read, and every stage) is its imported files'.
        imported = [(result, read.weight) for read, result in results if result.status == "imported"]
        _share(imported, waited + time.perf_counter() - started)
        return [(read.index, result) for read, result in results]

    def _one_by_one(self, batch: list[ReadFile], waited: float) -> list[tuple[int, IngestResult]]:
        """A batch the database refused, again a file at a time: one bad file fails alone."""
        results = []
        for read in batch:
            again = read_file(read.index, read.source, known_benchmarks())
            results += self._import_batch([again], waited / len(batch))
        return results


def persist(batch: list[ReadFile]) -> Persisted:
    """The persist stage: a batch's scan files together, or its one file of another format."""
    if all(read.scans is not None for read in batch):
        return persist_scan_files([read.scans for read in batch if read.scans is not None])
    (read,) = batch
    if read.dump is not None:
        return persist_kubernetes(read.dump, file_sha256=read.sha256, resource_hint=read.source.resource_hint)
    assert read.records is not None
    try:
        if read.format == "inventory":
            return persist_inventory(read.records)
        if read.format in CLOUD_READERS:
            return persist_cloud_machines(read.records)
        if read.format in FINDING_READERS:
            return persist_cloud_findings(read.records)
        if read.format == "defender-score":
            return persist_reported_scores(read.records)
        return persist_assessments(read.records)
    finally:
        read.records.close()


def evaluate(evaluations: Evaluations) -> set[int]:
    """The evaluate stage: the recommendations Posture evaluates from evidence (OS configuration from
    findings, Kubernetes from dumps, agents), for the resources the persist stage names; returns those
    whose assessments changed."""
    changed: set[int] = set()
    for ids in chunks(sorted(evaluations.os_configuration)):
        changed |= evaluate_os_configuration(ids)
    for ids in chunks(sorted(evaluations.kubernetes)):
        changed |= evaluate_kubernetes(ids)
    for ids in chunks(sorted(evaluations.agents)):
        changed |= evaluate_agents(ids)
    return changed


def report(outcomes: list[Outcome], changes: Changes, followed: dict[str, int]) -> list[Outcome]:
    """Each file's counts once every stage ran: a scan file's with the findings its scans changed, a
    kubectl dump's with the statuses its cluster was evaluated to; a file alone in its transaction's
    with what governance did (when it did something)."""
    counted: list[Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, dict) and "_scans" in outcome:
            outcome = scan_counts(outcome, changes)
        elif isinstance(outcome, dict) and "_cluster" in outcome:
            outcome = cluster_statuses(outcome)
        counted.append(outcome)
    if len(counted) == 1 and isinstance(counted[0], dict):
        counted[0].update({name: n for name, n in followed.items() if n})
    return counted


def subscriptions_of(resource_ids: set[int]) -> set[int]:
    """The subscriptions of these resources (whose score their changed assessments move)."""
    found: set[int] = set()
    for ids in chunks(sorted(resource_ids)):
        found.update(
            Resource.objects.filter(pk__in=ids)
            .values_list("subscription_id", flat=True)
            .distinct()
            .order_by()
        )
    return found


def _result(read: ReadFile, outcome: Outcome) -> IngestResult:
    if isinstance(outcome, RejectedFile):
        return IngestResult(
            file=read.source.name, format=read.format, status="rejected", error=outcome.message
        )
    counts = dict(outcome)
    return IngestResult(
        file=read.source.name, format=counts.pop("format", read.format), status="imported", counts=counts
    )


def _share(results: list[tuple[IngestResult, int]], seconds: float) -> None:
    """Add `seconds` to the results, in proportion to their weights."""
    total = sum(weight for _, weight in results)
    for result, weight in results:
        result.seconds += seconds * weight / total


def known_benchmarks() -> frozenset[tuple[str, str]]:
    """Benchmark versions whose rules are in the catalog (loaded whole at least once)."""
    return frozenset(
        Benchmark.objects.exclude(rules_digest="").exclude(version="").values_list("benchmark_id", "version")
    )


def ingest_files(
    paths: Sequence[Path],
    *,
    file_format: str | None = None,
    resource: str | None = None,
    progress: Progress | None = None,
    batch_results: int = BATCH_RESULTS,
) -> list[IngestResult]:
    """Import files as one run: one result per file, in the order given; the score snapshot once."""
    run = ImportRun()
    results = run.import_sources(
        [
            Source(
                name=str(path), path=path, file_format=file_format, resource_hint=resource, progress=progress
            )
            for path in paths
        ],
        batch_results=batch_results,
    )
    run.finish()
    return results


def ingest_file(
    path: Path,
    *,
    file_format: str | None = None,
    resource: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Import one file, a run of its own; a rejected file comes back with its reason and leaves the
    database as it was."""
    return ingest_files([path], file_format=file_format, resource=resource, progress=progress)[0]


def ingest_stream(
    stream: IO[bytes],
    *,
    file_format: str,
    file_sha256: str = "",
    resource_hint: str | None = None,
) -> dict[str, Any]:
    """Import an open file of a known format as a run of its own; returns its counts (with its format)
    or raises why it was rejected."""
    run = ImportRun()
    (result,) = run.import_sources(
        [
            Source(
                name="stream",
                stream=stream,
                file_format=file_format,
                resource_hint=resource_hint,
                sha256=file_sha256,
            )
        ]
    )
    run.finish()
    if result.status != "imported":
        raise RejectedFile(result.error)
    # A scan file's counts also say what it was (arf, xccdf, securitybaseline).
    return {**result.counts, "format": result.format} if file_format in SCAN_FORMATS else result.counts
