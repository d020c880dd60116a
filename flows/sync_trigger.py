"""Start the twin's update after an upload: a Prefect deployment run when a server is
configured, a direct call otherwise. Also the deployment trigger of the web pages' queued
work (:func:`start_deployment`, :func:`flow_run_status`).

With ``PREFECT_API_URL`` set and a ``sync_assays`` deployment on that server
(name from ``$MOLTWIN_SYNC_DEPLOYMENT``, default :data:`DEFAULT_DEPLOYMENT`), the
sync is scheduled there with ``run_deployment(..., timeout=0)`` and this returns at
once with the flow-run id; a worker runs it. Otherwise (no server, no such deployment,
server unreachable) :func:`pipeline.twin_update.sync_project` runs here and now, without
starting any Prefect server. Both the CLI (``moltwin assays upload``) and the web page
call :func:`trigger_sync`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DEPLOYMENT_ENV_VAR = "MOLTWIN_SYNC_DEPLOYMENT"
#: ``<flow name>/<deployment name>`` of the sync deployment.
DEFAULT_DEPLOYMENT = "sync_assays/sync-assays"


def sync_deployment_name() -> str:
    return os.environ.get(DEPLOYMENT_ENV_VAR, DEFAULT_DEPLOYMENT)


def start_deployment(name: str, parameters: dict, idempotency_key: str | None = None) -> tuple[str | None, str]:
    """Schedule a run of deployment ``name``; returns ``(flow_run_id, "")`` or ``(None, why not)``."""
    try:
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound
    except ImportError as exc:  # pragma: no cover - Prefect is a dependency
        return None, f"Prefect is not importable: {exc}"
    try:
        flow_run = run_deployment(name=name, parameters=parameters, timeout=0, as_subflow=False,
                                  idempotency_key=idempotency_key)
    except ObjectNotFound:
        return None, f"no deployment '{name}' on the Prefect server at {os.environ.get('PREFECT_API_URL')}"
    except Exception as exc:  # noqa: BLE001 - an unreachable server must not lose the update
        if exc.__class__.__name__ == "PrefectHTTPStatusError":  # reached, but e.g. parameters refused
            return None, f"the Prefect server refused a run of '{name}' ({str(exc)[:300]})"
        return None, f"could not reach the Prefect server ({exc.__class__.__name__}: {exc})"
    return str(flow_run.id), ""


start_sync_deployment = start_deployment  # the name the sync used first

#: Prefect state types -> the web queue's job statuses
_STATUS = {"SCHEDULED": "queued", "PENDING": "queued", "PAUSED": "queued", "RUNNING": "running",
           "CANCELLING": "running", "COMPLETED": "done", "FAILED": "failed", "CRASHED": "failed",
           "CANCELLED": "failed"}


def flow_run_status(flow_run_id: str) -> dict:
    """``{"status", "state", "message"}`` of a flow run on the configured server.

    ``status`` is one of queued, running, done, failed, or ``unknown`` when the server cannot be
    asked (``message`` says why); ``state`` is Prefect's own state name (e.g. ``Late``).
    """
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(flow_run_id)
    except Exception as exc:  # noqa: BLE001 - the page shows "unknown", never an error page
        return {"status": "unknown", "state": "", "message": f"could not ask the Prefect server "
                f"({exc.__class__.__name__}: {str(exc)[:200]})"}
    state = run.state
    if state is None:
        return {"status": "queued", "state": "", "message": ""}
    kind = state.type.value if hasattr(state.type, "value") else str(state.type)
    return {"status": _STATUS.get(kind, "queued"), "state": state.name or kind, "message": state.message or ""}


def trigger_sync(store_url: str, project: str, upload_id: str | None = None, *,
                 results_dir: Path | None = None, starter: list[str] | tuple | None = ()) -> dict:
    """Bring ``project``'s twin up to date after ``upload_id`` was committed.

    A project's first upload starts its twin (:func:`pipeline.twin_update.starter_config`,
    ``starter``: overrides of those settings, None to only score the ledger).

    Returns
    -------
    dict
        ``{"mode": "deployment", "deployment", "flow_run_id"}`` when scheduled on a Prefect
        server, else ``{"mode": "direct", "notes", **summary}`` with the sync run's summary
        (run id, status, ranking changes, ledger, next batch, report path).
    """
    notes = []
    if os.environ.get("PREFECT_API_URL"):
        name = sync_deployment_name()
        params = {"project": project, "db_url": store_url, "upload_id": upload_id,
                  "results_dir": str(Path(results_dir).resolve()) if results_dir else None}
        key = f"sync:{project}:{upload_id}" if upload_id else None
        flow_run_id, why = start_sync_deployment(name, {"params": params}, idempotency_key=key)
        if flow_run_id:
            return {"mode": "deployment", "deployment": name, "flow_run_id": flow_run_id,
                    "project": project, "upload_id": upload_id}
        log.warning("%s; syncing directly", why)
        notes.append(f"{why}; synced directly")
    from pipeline.twin_update import sync_project

    summary = sync_project(store_url, project, upload_id=upload_id, results_dir=results_dir, starter=starter)
    return {"mode": "direct", **summary, "notes": notes + list(summary.get("notes", []))}
