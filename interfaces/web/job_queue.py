"""Work started from the pages (a simulation, a screen): on a Prefect deployment when a server is
configured, otherwise in a one-job-at-a-time background queue.

With ``PREFECT_API_URL`` set, a job that names its deployment is scheduled there
(:func:`flows.sync_trigger.start_deployment`, from a short-lived thread so the page never waits on
the server) and its status is read from the flow run whenever a page lists it. When the server
cannot be reached or has no such deployment, the job runs here instead, and its message says
why. Without a server, jobs run one after another in a single worker thread, in the order they
were queued (two cores fit one MD run at a time). Status (queued, running, done, failed) is kept
in memory for the pages to show; what a job produces lands in the twin store (a run row,
simulation rows), where it outlives the server.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

#: () -> (deployment name, parameters): how a job runs on a Prefect server
DeploymentSpec = Callable[[], tuple[str, dict]]
_FINAL = {"done", "failed"}
_REFRESH_S = 2.0  # a flow run's state is asked at most this often per job


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
    #: "local" (this server's queue) or "deployment" (a flow run on the Prefect server)
    mode: str = "local"
    deployment: str = ""
    flow_run_id: str = ""
    checked_at: float = 0.0


def _launch(name: str, parameters: dict, key: str) -> tuple[str | None, str]:
    from flows.sync_trigger import start_deployment

    return start_deployment(name, parameters, idempotency_key=key)


def _status(flow_run_id: str) -> dict:
    from flows.sync_trigger import flow_run_status

    return flow_run_status(flow_run_id)


class JobQueue:
    """Run jobs on a Prefect deployment or one at a time here; remember every job's status.

    ``launch`` and ``status`` (deployment start, flow-run status) are the Prefect calls by
    default; tests give their own.
    """

    def __init__(self, store_url: str, *, launch: Callable[[str, dict, str], tuple[str | None, str]] = _launch,
                 status: Callable[[str], dict] = _status) -> None:
        self.store_url = store_url
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._launch, self._status = launch, status
        self._launching: list[threading.Thread] = []

    @staticmethod
    def server_configured() -> bool:
        return bool(os.environ.get("PREFECT_API_URL"))

    def submit(self, kind: str, project: str, label: str, user: str, work: Callable[[], dict],
               deployment: DeploymentSpec | None = None) -> Job:
        """Queue ``work`` (returns a small dict for the status line); returns the job at once.

        With a Prefect server configured and ``deployment`` given, the job is a run of that
        deployment instead (``work`` runs here only when the deployment cannot be started).
        """
        job = Job(uuid.uuid4().hex[:12], kind, project, label, user, datetime.now(timezone.utc))
        with self._lock:
            self.jobs[job.job_id] = job
        if deployment is not None and self.server_configured():
            job.mode, job.message = "deployment", "sending to the Prefect server"
            thread = threading.Thread(target=self._send, args=(job, work, deployment),
                                      name="moltwin-web-launch", daemon=True)
            self._launching.append(thread)
            thread.start()
        else:
            self._enqueue(job, work)
        return job

    def _enqueue(self, job: Job, work: Callable[[], dict]) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="moltwin-web-jobs", daemon=True)
                self._worker.start()
        self._queue.put((job, work))

    def _send(self, job: Job, work: Callable[[], dict], deployment: DeploymentSpec) -> None:
        try:
            name, params = deployment()
            flow_run_id, why = self._launch(name, params, f"moltwin-web:{job.job_id}")
        except Exception as exc:  # noqa: BLE001 - e.g. no saved configuration: the job fails, visibly
            job.status, job.message = "failed", f"{exc.__class__.__name__}: {exc}"[:2000]
            job.finished_at = datetime.now(timezone.utc)
            return
        if flow_run_id:
            job.deployment, job.flow_run_id = name, flow_run_id
            job.message = f"Prefect deployment {name}, flow run {flow_run_id}"
            return
        job.mode, job.message = "local", f"{why}; running on this server instead"
        self._enqueue(job, work)

    def refresh(self, job: Job) -> Job:
        """Bring a deployment job's status up to date from its flow run (at most every few seconds)."""
        if job.mode != "deployment" or not job.flow_run_id or job.status in _FINAL:
            return job
        if time.monotonic() - job.checked_at < _REFRESH_S:
            return job
        job.checked_at = time.monotonic()
        state = self._status(job.flow_run_id)
        if state["status"] != "unknown":
            job.status = state["status"]
        detail = state.get("state") or ""
        job.message = (f"Prefect deployment {job.deployment}, flow run {job.flow_run_id}"
                       + (f": {detail}" if detail else "") + (f" ({state['message']})" if state.get("message") else ""))
        if job.status in _FINAL:
            job.finished_at = datetime.now(timezone.utc)
        return job

    def _run(self) -> None:
        while True:
            job, work = self._queue.get()
            job.status = "running"
            note = job.message if job.message.endswith("instead") else ""
            try:
                job.result = work() or {}
                job.status = "done"
                job.message = "; ".join(m for m in (str(job.result.get("message", "")), note) if m)
            except Exception as exc:  # a job's failure is shown on the page, never kills the worker
                job.status = "failed"
                job.message = f"{exc.__class__.__name__}: {exc}"[:2000]
                job.result = {"traceback": "".join(traceback.format_exception(exc))[-4000:]}
            job.finished_at = datetime.now(timezone.utc)
            self._queue.task_done()

    def for_project(self, project: str) -> list[Job]:
        """The project's jobs, newest first (deployment jobs with their flow run's status)."""
        jobs = sorted((j for j in self.jobs.values() if j.project == project), key=lambda j: j.submitted_at,
                      reverse=True)
        return [self.refresh(j) for j in jobs]

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued job has finished (tests, shutdown); deployment runs are not waited for."""
        for thread in list(self._launching):
            thread.join(timeout)
        done = threading.Event()
        threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True).start()
        done.wait(timeout)
