"""Work a person queues for a project (from the web pages): simulate one compound, or run a screen
with the project's saved configuration.

Plain functions (no Prefect): the web app's one-job background queue calls them directly, and
the ``simulate_compound`` flow (:mod:`flows.simulate_compound`) calls :func:`simulate_compound`
on a Prefect worker; a queued screen on a server runs the ``screen`` deployment with
:func:`saved_config`.
"""

from __future__ import annotations

import traceback

from lab_sync.store import open_store
from pipeline.config import RunConfig
from pipeline.run_context import begin_run, finish_run


def saved_config(store, project: str) -> RunConfig | None:
    """The configuration of the project's latest completed run (None before the first)."""
    from pipeline.twin_update import resolve_config

    return resolve_config(store, project)


def simulate_compound(store_url: str, project: str, compound_id: str, smiles: str) -> dict:
    """One MD simulation of ``smiles`` with the project's saved target and settings, as a ``simulate`` run.

    The simulation row lands in the store under ``compound_id`` (shown on its compound page).
    """
    from pipeline.stages import stage_simulate_one

    config = saved_config(open_store(store_url), project)
    if config is None:
        raise ValueError(f"project {project} has no completed run, so no saved target (protein, "
                         "reference ligands) to simulate with; run a screen first")
    if config.target.protein_pdb is None:
        raise ValueError(f"project {project} has no protein to simulate with; it was created without one")
    ctx = begin_run(config, store_url, kind="simulate")
    try:
        record = stage_simulate_one(ctx, {"compound_id": compound_id, "smiles": smiles})
    except Exception as exc:
        finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
        raise
    finish_run(ctx, "completed", {"compound_id": compound_id, "status": record["status"],
                                  "mmgbsa_kcal_mol": record.get("mmgbsa_kcal_mol")})
    return {"run_id": ctx.run_id, "message": f"simulation {record['status']}"
            + (f" ({record['reason_code']})" if record.get("reason_code") else "")}


def screen_project(store_url: str, project: str) -> dict:
    """A screen with the project's saved configuration (measurements from the store)."""
    from pipeline.screen import run_screen

    config = saved_config(open_store(store_url), project)
    if config is None:
        raise ValueError(f"project {project} has no completed run whose configuration could be reused")
    from pipeline.config import check_screen_config

    summary = run_screen(check_screen_config(config), store_url)
    return {"run_id": summary["run_id"], "message": f"screen {summary['status']}: run {summary['run_id']}"}
