"""Real Celery workers for the PostgreSQL pass: start one on REDIS_URL against the test database, wait
until it answers, stop it, or kill it as a crash would (the whole worker, or only its pool child)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

from config.celery import app

START_SECONDS = 60


class WorkerFailed(RuntimeError):
    pass


def database_url_for_test_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Worker:
    """One prefork worker process (concurrency 1) consuming `queue`, with its log in `log`.

    `app_module` is what `celery -A` loads: config itself, or a test module that configures it further.
    """

    def __init__(
        self,
        *,
        nodename: str,
        log: Path,
        queue: str = "celery",
        app_module: str = "config",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.nodename = nodename
        self.log = log
        self.queue = queue
        self.app_module = app_module
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            self.app_module,
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "-Q",
            self.queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "-n",
            self.nodename,
        ]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            # pytest-django renamed the database (test_posture) in this process only.
            "DATABASE_URL": database_url_for_test_database(
                os.environ["DATABASE_URL"], str(connection.settings_dict["NAME"])
            ),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **self.extra_env,
        }

    def start(self) -> None:
        """Start the worker and wait until it answers a ping (its log is appended to, across restarts)."""
        with self.log.open("ab") as output:
            # Its own process group: the pool children die with it when the group is killed.
            self.process = subprocess.Popen(
                self.command(),
                cwd=settings.BASE_DIR,
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        deadline = time.monotonic() + START_SECONDS
        while not app.control.ping(destination=[self.nodename], timeout=0.5):
            if self.process.poll() is not None:
                raise WorkerFailed(
                    f"the Celery worker exited with status {self.process.returncode}:\n{tail(self.log)}"
                )
            if time.monotonic() > deadline:
                raise WorkerFailed(
                    f"the Celery worker did not answer a ping in {START_SECONDS}s:\n{tail(self.log)}"
                )

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker was not started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pool_children(self) -> list[int]:
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(child) for child in children]

    def kill(self) -> None:
        """SIGKILL the main process and its pool children at once, as a machine or container dies."""
        with contextlib.suppress(ProcessLookupError):  # the whole group is already gone
            os.killpg(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()

    def kill_pool_child(self) -> int:
        """SIGKILL the pool child running the task (the OOM killer's way); the main process lives on."""
        children = self.pool_children()
        if len(children) != 1:
            raise WorkerFailed(f"expected one pool child of worker {self.pid}, found {children}")
        os.kill(children[0], signal.SIGKILL)
        return children[0]

    def stop(self) -> None:
        """Warm shutdown; killed if it hangs. Needed before pytest-django drops the test database."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
