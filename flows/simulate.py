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
import time

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.concurrency import gpu_slot
from flows.retry import transient_retry_options
from pipeline import stages
from moltwin.settings_base import StrictModel


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


def _records_from_store(ctx: stages.RunContext, items: list[dict], states: dict[str, str]) -> list[dict]:
    from lab_sync.store import open_store

    rows = open_store(ctx.db_url).read_table("simulations", ctx.config.project, run_id=ctx.run_id)
    latest = {r["compound_id"]: r for r in rows.sort_values("id").to_dict("records")}
    out = []
    for item in items:
        row = latest.get(item["compound_id"])
        if row is not None:
            out.append(json.loads(row["record_json"]))
        else:  # the remote run crashed before writing its record: a failure row, not a crash
            out.append({"compound_id": item["compound_id"], "status": "failed",
                        "reason_code": "remote_run_failed", "platform": "",
                        "message": f"simulate flow run ended {states.get(item['compound_id'], 'unknown')} "
                                   "without a record"})
    return out


def simulate_on_deployment(ctx: stages.RunContext, items: list[dict], deployment: str,
                           poll_s: float = 10.0) -> list[dict]:
    """Start one ``simulate`` run per ligand on ``deployment``, wait for all, read the records."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    runs = {}
    for item in items:
        batch = SimulationBatch(run_id=ctx.run_id, run_dir=ctx.run_dir, db_url=ctx.db_url,
                                config_json=ctx.config_json, items=[SimulationItem(**item)])
        # timeout=0: create the run and return, so all ligands queue on the pool at once.
        flow_run = run_deployment(deployment, parameters={"batch": batch.model_dump()}, timeout=0,
                                  flow_run_name=f"simulate-{item['compound_id']}")
        runs[item["compound_id"]] = flow_run.id
    states: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        while len(states) < len(runs):
            for cid, run_id in runs.items():
                if cid not in states:
                    state = client.read_flow_run(run_id).state
                    if state is not None and state.is_final():
                        states[cid] = state.type.value
            if len(states) < len(runs):
                time.sleep(poll_s)
    return _records_from_store(ctx, items, states)
