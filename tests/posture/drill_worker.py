"""The Celery app the kill drills' worker loads (`celery -A tests.posture.drill_worker`), test-only.

It is Posture's own app on a queue of its own, so the session's worker (tests/conftest.py) never takes
a drill's job, and what the worker queues itself (the requeue of abandoned imports) stays on it too.
With POSTURE_DRILL_POISON_SHA256 set, importing that file kills the worker a third of the way in,
every time: only its pool child (POSTURE_DRILL_POISON_KILLS=child, as the OOM killer would) or the
whole worker (=worker, as a container dying). Without the variable the hook does nothing.
"""

import os
import signal
from typing import Any

from celery.signals import worker_process_init

from config.celery import app
from tests.posture.drill_names import POISON_KILLS, POISON_SHA256, QUEUE

# Only ever imported by the drills' worker process (`celery -A tests.posture.drill_worker`).
app.conf.task_default_queue = QUEUE

__all__ = ["app"]


@worker_process_init.connect
def arm_poison(**_: Any) -> None:
    poison = os.environ.get(POISON_SHA256)
    if not poison:
        return
    # Imported here: the pool child has set Django up by now, the module import had not.
    from intake import jobs
    from posture.models import ImportJob

    report = jobs.report_progress

    def report_or_die(job_id: int, percent: int, phase: str) -> None:
        report(job_id, percent, phase)
        if percent >= 30 and ImportJob.objects.filter(pk=job_id, sha256=poison).exists():
            if os.environ.get(POISON_KILLS) == "worker":
                os.killpg(os.getpgrp(), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)

    jobs.report_progress = report_or_die
