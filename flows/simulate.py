"""The ``simulate`` flow: a screen run's simulations on the GPU work pool.

``screen`` runs on the CPU (``process``) pool; with ``MOLTWIN_SIMULATE_DEPLOYMENT=simulate/gpu``
it sends each ligand to this flow's deployment instead of simulating locally, so every GPU
worker (one GPU each: ``CUDA_VISIBLE_DEVICES``, ``WORKER_ID``) simulates one ligand at a time
under its ``gpu:<WORKER_ID>`` concurrency slot. Records travel back through the twin store
(the ``simulations`` table, keyed by run id and compound), not through pickled results; the
MD run directories live in the shared ``$MOLTWIN_HOME/cache/md``, so a re-run on any worker
reuses finished runs and resumes killed ones from their checkpoints.
"""

from __future__ import annotations

import json
import os
import time

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.concurrency import gpu_slot
from flows.retry import transient_retry_options
from moltwin import progress
from moltwin.errors import ConfigError
from moltwin.settings_base import StrictModel
from pipeline import stages


class SimulationItem(StrictModel):
    """One ligand to simulate."""

    compound_id: str = Field(..., min_length=1)
    smiles: str = Field(..., min_length=1)


class SimulationBatch(StrictModel):
    """Parameters of one ``simulate`` run: the screen run it belongs to and its ligands."""

    run_id: str = Field(..., description="The screen run the records belong to.")
    run_dir: str = Field(..., description="The screen run's results folder.")
    db_url: str = Field(..., description="Twin store URL (shared by every worker).")
    config_json: str = Field(..., description="The screen run's configuration (JSON).")
    items: list[SimulationItem] = Field(default_factory=list)

    def context(self) -> stages.RunContext:
        return stages.RunContext(self.run_id, self.run_dir, self.db_url, self.config_json)


@task(cache_policy=NO_CACHE, task_run_name="simulate-{item[compound_id]}",
      **transient_retry_options(backoff_factor_s=10.0))
def simulate_one(ctx: stages.RunContext, item: dict) -> dict:
    with gpu_slot():
        return stages.stage_simulate_one(ctx, item)


@flow(name="simulate", log_prints=True)
def simulate_flow(batch: SimulationBatch) -> list[dict]:
    """Simulate the batch's ligands one after another on this worker's GPU."""
    ctx = batch.context()
    records = [simulate_one(ctx, item.model_dump()) for item in batch.items]
    get_run_logger().info("%d simulations for run %s: %d ok", len(records), ctx.run_id,
                          sum(r["status"] == "ok" for r in records))
    return [stages.summarize_simulations([r])[0] for r in records]


#: Seconds the screen waits for all its ``simulate`` runs (default 12 h); ``MOLTWIN_SIMULATE_TIMEOUT_S``.
TIMEOUT_ENV = "MOLTWIN_SIMULATE_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 12 * 3600.0


def wait_timeout_s() -> float:
    """The wait limit from ``$MOLTWIN_SIMULATE_TIMEOUT_S`` (seconds), else :data:`DEFAULT_TIMEOUT_S`."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}", field=TIMEOUT_ENV)
    return value


def remote_failure(compound_id: str, state_type: str, state_message: str, flow_run_id: str = "") -> dict:
    """The failure record of a ligand whose ``simulate`` run wrote no record (its error included)."""
    run = f" {flow_run_id}" if flow_run_id else ""
    if state_type == "TIMEOUT":
        reason, message = "remote_run_timeout", state_message
    else:
        reason = "remote_run_failed"
        message = f"simulate flow run{run} ended {state_type}" + (f": {state_message}" if state_message
                                                                  else " without a record or an error message")
    return {"compound_id": compound_id, "status": "failed", "reason_code": reason, "platform": "",
            "message": message}


def records_from_store(ctx: stages.RunContext, items: list[dict], finals: dict[str, tuple[str, str, str]]
                       ) -> list[dict]:
    """Each item's record as its ``simulate`` run wrote it to the store, else a failure record naming
    how the run ended and why (``finals``: compound id -> (state type, state message, flow-run id))."""
    from lab_sync.store import open_store

    rows = open_store(ctx.db_url).read_table("simulations", ctx.config.project, run_id=ctx.run_id)
    latest = {r["compound_id"]: r for r in rows.sort_values("id").to_dict("records")}
    out = []
    for item in items:
        row = latest.get(item["compound_id"])
        if row is not None:
            out.append(json.loads(row["record_json"]))
        else:  # the remote run crashed, failed or never ran: a failure row with its error, not a crash
            out.append(remote_failure(item["compound_id"], *finals.get(item["compound_id"], ("UNKNOWN", "", ""))))
    return out


def _cancel_unfinished(client, waiting: dict, timeout_s: float, deployment: str) -> dict[str, tuple[str, str, str]]:
    """Cancel the runs still waiting after the timeout; say in which state each was left."""
    from prefect.states import Cancelled

    finals = {}
    for cid, run_id in waiting.items():
        state = client.read_flow_run(run_id).state
        name = state.type.value if state is not None else "UNKNOWN"
        hint = " (no worker took it: is a worker running on the deployment's pool?)" if name in (
            "SCHEDULED", "PENDING", "LATE") else ""
        message = (f"simulate flow run {run_id} still {name} after {timeout_s:.0f} s ({TIMEOUT_ENV}){hint}; "
                   f"cancelled. Deployment: {deployment}")
        try:
            client.set_flow_run_state(run_id, Cancelled(message=message), force=True)
        except Exception as exc:  # noqa: BLE001 - the failure record says it all; the screen goes on
            message += f" (cancelling failed: {exc.__class__.__name__})"
        finals[cid] = ("TIMEOUT", message, str(run_id))
    return finals


def simulate_on_deployment(ctx: stages.RunContext, items: list[dict], deployment: str,
                           poll_s: float = 10.0, timeout_s: float | None = None) -> list[dict]:
    """Start one ``simulate`` run per ligand on ``deployment``, wait for all, read the records.

    Waits at most ``timeout_s`` (default :func:`wait_timeout_s`) for all runs together; runs still
    waiting then (e.g. no GPU worker online) are cancelled and become ``remote_run_timeout`` failure
    records, so the screen finishes and releases its concurrency slot. A run that failed or crashed
    without writing its record becomes a ``remote_run_failed`` record carrying the run's error.
    """
    from prefect import get_client
    from prefect.deployments import run_deployment

    timeout_s = wait_timeout_s() if timeout_s is None else timeout_s
    logger = get_run_logger()
    runs = {}
    for item in items:
        batch = SimulationBatch(run_id=ctx.run_id, run_dir=ctx.run_dir, db_url=ctx.db_url,
                                config_json=ctx.config_json, items=[SimulationItem(**item)])
        # timeout=0: create the run and return, so all ligands queue on the pool at once.
        flow_run = run_deployment(deployment, parameters={"batch": batch.model_dump()}, timeout=0,
                                  flow_run_name=f"simulate-{item['compound_id']}")
        runs[item["compound_id"]] = flow_run.id
    progress.begin_items("simulate", len(runs))
    finals: dict[str, tuple[str, str, str]] = {}
    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while len(finals) < len(runs):
            for cid, run_id in runs.items():
                if cid not in finals:
                    state = client.read_flow_run(run_id).state
                    if state is not None and state.is_final():
                        finals[cid] = (state.type.value, state.message or "", str(run_id))
                        progress.item_done("simulate", f"{cid}: {state.type.value}")
            if len(finals) == len(runs):
                break
            if time.monotonic() >= deadline:
                waiting = {cid: run_id for cid, run_id in runs.items() if cid not in finals}
                logger.warning("%d simulate runs unfinished after %.0f s: cancelling them", len(waiting), timeout_s)
                finals.update(_cancel_unfinished(client, waiting, timeout_s, deployment))
                break
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
    records = records_from_store(ctx, items, finals)
    for record in records:
        if record.get("reason_code") in ("remote_run_failed", "remote_run_timeout"):
            logger.error("simulation of %s: %s", record["compound_id"], record["message"])
    return records
