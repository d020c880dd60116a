"""A one-job-at-a-time background queue for work started from the pages (a simulation, a screen).

Two cores fit one MD run at a time, so jobs run one after another in a single worker
thread, in the order they were queued. Status (queued, running, done, failed) is kept in
memory for the pages to show; what a job produces lands in the twin store (a run row,
simulation rows), where it outlives the server. Without a Prefect server this is how the
web app runs work; with one, the same job functions can be called from a deployment.
"""

from __future__ import annotations

import queue
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass
class Job:
    job_id: str
    kind: str
    project: str
    label: str
    submitted_by: str
    submitted_at: datetime
    status: str = "queued"
    message: str = ""
    finished_at: datetime | None = None
    result: dict = field(default_factory=dict)


class JobQueue:
    """Run callables one at a time in a background thread; remember every job's status."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, kind: str, project: str, label: str, user: str, work: Callable[[], dict]) -> Job:
        """Queue ``work`` (returns a small dict for the status line); returns the job at once."""
        job = Job(uuid.uuid4().hex[:12], kind, project, label, user, datetime.now(timezone.utc))
        with self._lock:
            self.jobs[job.job_id] = job
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="moltwin-web-jobs", daemon=True)
                self._worker.start()
        self._queue.put((job, work))
        return job

    def _run(self) -> None:
        while True:
            job, work = self._queue.get()
            job.status = "running"
            try:
                job.result = work() or {}
                job.status = "done"
                job.message = str(job.result.get("message", ""))
            except Exception as exc:  # a job's failure is shown on the page, never kills the worker
                job.status = "failed"
                job.message = f"{exc.__class__.__name__}: {exc}"[:2000]
                job.result = {"traceback": "".join(traceback.format_exception(exc))[-4000:]}
            job.finished_at = datetime.now(timezone.utc)
            self._queue.task_done()

    def for_project(self, project: str) -> list[Job]:
        """The project's jobs, newest first."""
        return sorted((j for j in self.jobs.values() if j.project == project), key=lambda j: j.submitted_at,
                      reverse=True)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued job has finished (tests, shutdown)."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True).start()
        done.wait(timeout)
