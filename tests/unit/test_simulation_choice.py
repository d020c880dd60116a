"""The twin update picks stored simulations by protocol and status, never "the latest row",
and never sees the records of a run that is still being written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from lab_sync.store import open_store
from pipeline.config import load_config
from pipeline.run_context import RunContext
from pipeline.twin_update import stored_simulations
from simulation.run import SimulationRequest, request_hash

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SMILES = {"A": "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", "B": "O=C(CO)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1",
          "C": "N#CCC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"}


def _hash(cfg, cid, settings=None):
    request = SimulationRequest(compound_id=cid, smiles=SMILES[cid], protein_pdb=cfg.target.protein_pdb,
                                reference_ligands_sdf=cfg.target.reference_ligands_sdf)
    return request_hash(request, settings or cfg.simulate)


def test_simulations_are_chosen_by_protocol_status_and_finished_runs(tmp_path):
    cfg = load_config(None, [f"results_dir={tmp_path}"])
    store = open_store(str(tmp_path / "t.db"))
    store.register_compounds(cfg.project, [{"compound_id": c, "smiles": s, "inchikey": f"KEY{c}",
                                            "origin": "t"} for c, s in SMILES.items()])
    for run_id, status in (("r1", "completed"), ("r2", "running"), ("r3", "completed")):
        store.start_run(run_id=run_id, project=cfg.project, kind="screen", config_json="{}",
                        config_hash="h", code_version="t", results_dir=str(tmp_path))
        store.finish_run(run_id, status=status) if status != "running" else None
    other = cfg.simulate.model_copy(update={"production_steps": cfg.simulate.production_steps * 2})
    rows = [  # (compound, run, status, protocol settings, minutes after T0, MM/GBSA)
        ("A", "r1", "ok", None, 0, -30.0),
        ("A", "r3", "failed", None, 10, None),      # later, same protocol, failed
        ("B", "r1", "ok", None, 0, -20.0),
        ("B", "r3", "ok", other, 10, -99.0),        # later, another protocol
        ("C", "r2", "ok", None, 20, -40.0),         # a run still being written
    ]
    store.insert_rows("simulations", [{
        "project": cfg.project, "compound_id": cid, "run_id": run, "status": status,
        "input_hash": _hash(cfg, cid, settings), "record_json": json.dumps(
            {"compound_id": cid, "status": status, "mmgbsa_kcal_mol": dg, "run": run}),
        "mmgbsa_kcal_mol": dg, "created_at": T0 + timedelta(minutes=minutes)}
        for cid, run, status, settings, minutes, dg in rows])
    ctx = RunContext("sync-1", str(tmp_path / "sync-1"), store.url, cfg.model_dump_json())
    chosen = {r["compound_id"]: r for r in stored_simulations(ctx)}
    assert set(chosen) == {"A", "B"}
    assert chosen["A"]["status"] == "ok" and chosen["A"]["mmgbsa_kcal_mol"] == -30.0
    assert chosen["B"]["mmgbsa_kcal_mol"] == -20.0
