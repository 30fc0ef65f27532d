"""Import jobs: an upload is stored, queued, run once by a worker, and reports progress and what changed.

A job runs at most MAX_ATTEMPTS times: a file that kills the worker (redelivered by acks_late) ends as
failed instead of taking workers down forever. The import itself is one transaction, so a killed
worker leaves nothing half-imported and the next attempt starts clean.

That transaction holds the job's row lock and ends by marking the job done, so the file's rows and
the job's status commit together: a second delivery of the job waits for it and finds it done, and a
running job whose row nobody holds was abandoned by a worker that died. Redis gives a dead worker's
message back only after the visibility timeout (time limit + 10 minutes), so requeue_abandoned_jobs,
run by every worker as it starts and by beat, sends those jobs again at once.
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit import trail
from intake.persist.bulk import refresh_planner_statistics
from intake.pipeline import ImportRun
from intake.reading import Source
from intake.snapshots import unchanged_score
from posture.errors import UserError
from posture.importers.detect import FORMATS
from posture.models import EnrollmentToken, ImportJob, ImportStatus

MAX_ATTEMPTS = 3
PROGRESS_TTL = 3600


class UploadTooLarge(UserError):
    pass


def upload_dir() -> Path:
    path = Path(settings.POSTURE_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(job: ImportJob) -> Path:
    return upload_dir() / job.sha256


@dataclass(frozen=True)
class Submission:
    job: ImportJob
    created: bool


def submit_upload(
    *,
    chunks: Iterable[bytes],
    name: str,
    user: User | None,
    token: EnrollmentToken | None = None,
    file_format: str = "",
    resource: str = "",
    enqueue: Callable[[int], Any] | None = None,
) -> Submission:
    """Store an uploaded file (hashing it on the way) and queue its import; the same file returns its job."""
    if file_format and file_format not in FORMATS:
        raise UserError(f"unknown format {file_format!r}; one of: {', '.join(FORMATS)}")
    limit = int(settings.POSTURE_MAX_UPLOAD_BYTES)
    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(dir=upload_dir(), prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"the file is larger than the upload limit of {limit // 2**20} MB")
                digest.update(chunk)
                out.write(chunk)
        sha256 = digest.hexdigest()
        existing = ImportJob.objects.filter(
            sha256=sha256, requested_format=file_format, resource_hint=resource
        ).first()
        if existing is not None:
            return Submission(existing, created=False)
        target = upload_dir() / sha256
        if not target.exists():
            shutil.move(temporary, target)
        try:
            with transaction.atomic():
                job = ImportJob.objects.create(
                    original_name=Path(name).name[:300] or "upload",
                    size=size,
                    sha256=sha256,
                    requested_format=file_format,
                    resource_hint=resource,
                    created_by=user,
                    created_by_token=token,
                )
                trail.record(
                    actor=user,
                    actor_name="" if user is not None else f"agent token {token.prefix}…" if token else "",
                    action=trail.IMPORT,
                    obj=job,
                    summary=f"uploaded {job.original_name} ({size} bytes) for import",
                    after={"sha256": sha256, "format": file_format, "resource": resource},
                )
        except IntegrityError:  # the same file uploaded twice at the same moment
            return Submission(
                ImportJob.objects.get(sha256=sha256, requested_format=file_format, resource_hint=resource),
                created=False,
            )
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    # A database may hand out an id again after a delete: no stale progress for the new job.
    cache.delete(progress_key(job.pk))
    if enqueue is not None:
        transaction.on_commit(lambda: enqueue(job.pk))
    return Submission(job, created=True)


def progress_key(job_id: int) -> str:
    return f"posture:import-progress:{job_id}"


def report_progress(job_id: int, percent: int, phase: str) -> None:
    cache.set(progress_key(job_id), {"percent": percent, "phase": phase}, PROGRESS_TTL)


def job_progress(job: ImportJob) -> dict[str, Any]:
    if job.status == ImportStatus.DONE:
        return {"percent": 100, "phase": "done"}
    if job.status == ImportStatus.FAILED:
        return {"percent": 100, "phase": "failed"}
    found = cache.get(progress_key(job.pk))
    return found if isinstance(found, dict) else {"percent": 0, "phase": job.status}


def _claim(job_id: int) -> ImportJob | None:
    """Mark the job running and count the attempt; None when it is finished or out of attempts."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return None
        if job.attempts >= MAX_ATTEMPTS:  # each earlier attempt died without finishing
            job.status = ImportStatus.FAILED
            job.error = (
                f"the import stopped the worker {MAX_ATTEMPTS} times without finishing; "
                "the file is set aside as failed"
            )
            job.finished_at = timezone.now()
            job.save()
            return None
        job.attempts += 1
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save()
        return job


def run_import_job(job_id: int) -> str:
    """Run one queued import; returns the job's final status."""
    # The attempt commits on its own: a worker killed during the import has still used it.
    if _claim(job_id) is None:
        return ImportJob.objects.get(pk=job_id).status
    report_progress(job_id, 5, "reading")
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportStatus.RUNNING:  # a second delivery finished it while this one waited
            return job.status
        # An agent's upload: its score snapshot may wait up to a minute, taken with its neighbours'.
        run = ImportRun(coalesce=job.created_by_token_id is not None)
        (result,) = run.import_sources(
            [
                Source(
                    name=str(stored_path(job)),
                    path=stored_path(job),
                    file_format=job.requested_format or None,
                    resource_hint=job.resource_hint or None,
                    progress=lambda percent, phase: report_progress(job_id, percent, phase),
                )
            ]
        )
        # The score before and after come from the run's snapshot (the estate's last stored figures,
        # and the run's), not from scoring the estate twice more.
        score = run.finish() or unchanged_score()
        job.detected_format = result.format or ""
        job.finished_at = timezone.now()
        if result.status == "imported":
            job.status = ImportStatus.DONE
            job.counts = result.counts
            job.score_before = score.before
            # None while an agent's snapshot waits: `take_waiting_snapshots` fills it in.
            job.score_after = score.after
        else:
            job.status = ImportStatus.FAILED
            job.error = result.error or "rejected"
        job.save()
    refresh_planner_statistics()
    report_progress(job_id, 100, job.status)
    return job.status


def abandoned_jobs() -> list[int]:
    """Running jobs whose import holds no row lock: their worker died, or their task crashed."""
    if not connection.features.has_select_for_update_skip_locked:
        # SQLite has no row locks to tell a live import from a dead one; tasks run in-process there.
        return []
    with transaction.atomic():
        running = ImportJob.objects.select_for_update(skip_locked=True).filter(status=ImportStatus.RUNNING)
        return list(running.order_by("pk").values_list("pk", flat=True))


def requeue_abandoned_jobs(*, enqueue: Callable[[int], Any]) -> list[int]:
    """Queue the abandoned jobs again; each new delivery counts an attempt, so a file that keeps killing
    workers still ends as failed. A job that a live worker took meanwhile is only delivered twice: the
    second delivery waits for the first's row lock and finds the job done."""
    abandoned = abandoned_jobs()
    for job_id in abandoned:
        enqueue(job_id)
    return abandoned
