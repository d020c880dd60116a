"""Start the twin's update after an upload: a Prefect deployment run when a server is
configured, a direct call otherwise.

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


def start_sync_deployment(name: str, parameters: dict, idempotency_key: str | None = None) -> tuple[str | None, str]:
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
        return None, f"could not reach the Prefect server ({exc.__class__.__name__}: {exc})"
    return str(flow_run.id), ""


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
