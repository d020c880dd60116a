"""The ``simulate_compound`` flow: one compound queued from the web pages, simulated on a GPU worker.

Thin over :func:`pipeline.queued_work.simulate_compound` (a ``simulate`` run with the project's
saved target and settings; the record lands in the twin store and on the compound's page),
under this worker's GPU slot. Deployed as ``simulate_compound/compound`` on the GPU pool
(``prefect.yaml``); the web app starts it when ``PREFECT_API_URL`` is set.
"""

from __future__ import annotations

from prefect import flow

from flows.concurrency import gpu_slot
from pipeline.queued_work import simulate_compound


@flow(name="simulate_compound", log_prints=True)
def simulate_compound_flow(project: str, db_url: str, compound_id: str, smiles: str) -> dict:
    """Simulate ``smiles`` as ``compound_id`` of ``project``; returns the run id and a status line."""
    with gpu_slot():
        return simulate_compound(db_url, project, compound_id, smiles)
