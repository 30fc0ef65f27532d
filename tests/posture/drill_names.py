"""Names the kill drills share between the test process and their worker, without side effects: the
drills' worker app (drill_worker.py) changes the shared Celery app's default queue when imported, so the
test process must never import it (every other test's task would then go to the drills' queue)."""

QUEUE = "posture-kill-drills"
POISON_SHA256 = "POSTURE_DRILL_POISON_SHA256"
POISON_KILLS = "POSTURE_DRILL_POISON_KILLS"
