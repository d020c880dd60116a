"""A small real twin for the browsing pages: Tyk2, 10 ligands measured, a model, its predictions, 6 more measured.

The model (a small random forest on the first ten) predicts all sixteen before the last six are
uploaded, so those six have prospective predictions; a run row with a ranking gives decisions.
"""

from __future__ import annotations

import json
from pathlib import Path

from chem.models.predict import predict_activity
from chem.models.registry import save_model
from chem.models.settings import ModelSettings
from chem.models.train import train_activity_model
from lab_sync.store import TwinStore
from lab_sync.twin_records import record_model, record_predictions, series_activities
from lab_sync.upload import upload_assay_file

PROJECT = "tyk2"
LATER = 6


CORE = "O=C(Nc1ccnc(N[*:1])c1)c1c(Cl)cccc1[*:2]"


def tyk2_config_json(repo_dir: Path, tmp_path: Path, simulate: dict | None = None) -> str:
    """A real screen configuration of the Tyk2 project (its target files, core and results folder)."""
    from pipeline.config import RunConfig

    return RunConfig.model_validate({"project": PROJECT, "results_dir": str(tmp_path / "results"),
                                     "simulate": simulate or {}, "target": {
        "name": "Tyk2", "protein_pdb": str(repo_dir / "data" / "tyk2" / "protein.pdb"),
        "reference_ligands_sdf": str(repo_dir / "data" / "tyk2" / "ligands.sdf"), "core_smiles": CORE}}).model_dump_json()


def fill_tyk2(store: TwinStore, repo_dir: Path, tmp_path: Path, *, saved_config: bool = False,
              simulate: dict | None = None) -> dict:
    """Fill ``store`` with the Tyk2 series as above; returns ids useful to tests.

    ``saved_config``: the run row carries a real configuration (so the project has a saved
    core and target); otherwise "{}" (a project whose configuration cannot be reused).
    """
    lines = (repo_dir / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text("\n".join([lines[0], *lines[1:-LATER]]) + "\n")
    later.write_text("\n".join([lines[0], *lines[-LATER:]]) + "\n")
    rep = upload_assay_file(store, first, PROJECT, archive_dir=tmp_path / "archive", uploader="alice")
    assert rep.status == "committed", rep.to_dict()
    measured, _ = series_activities(store, PROJECT)
    train = measured.rename(columns={"p_qualifier": "qualifier"})[["compound_id", "smiles", "p_activity", "qualifier"]]
    model = train_activity_model(train, ModelSettings(model_kinds=["random_forest"], n_estimators=30, cv_folds=3))
    path = save_model(model, tmp_path / "models")
    everything = [ln.split(",")[:2] for ln in lines[1:]]
    pool = {"compound_id": [c for c, _ in everything], "smiles": [s for _, s in everything]}
    import pandas as pd

    preds = predict_activity(model, pd.DataFrame(pool))
    record_model(store, PROJECT, model, str(path), "{}")
    record_predictions(store, PROJECT, preds, model.model_id, run_id="screen-1")
    # The last six were not registered by the first upload: register them now as candidates.
    store.register_compounds(PROJECT, [{"compound_id": c, "smiles": s, "inchikey": _key(s), "origin": "generated"}
                                       for c, s in everything[-LATER:]])
    store.start_run(run_id="screen-1", project=PROJECT, kind="screen", config_json=tyk2_config_json(repo_dir, tmp_path, simulate) if saved_config else "{}",
                    config_hash="x", code_version="test", results_dir=str(tmp_path / "results" / "screen-1"))
    ranked = preds.sort_values("pred_p_activity", ascending=False).reset_index(drop=True)
    store.insert_rows("rankings", [{
        "run_id": "screen-1", "project": PROJECT, "compound_id": r.compound_id, "rank": i + 1,
        "score": float(r.pred_p_activity) / 10, "p_clear_gates": 0.9 if i < 8 else 0.2,
        "decision": "make" if i < 8 else "drop", "stage": "hit" if i < 8 else "none",
        "details_json": json.dumps({"criteria_met": "", "criteria_missed": "" if i < 8 else "hit: pActivity < 7"})}
        for i, r in enumerate(ranked.itertuples())])
    store.finish_run("screen-1", status="completed", summary={"n_ranked": len(ranked)})
    rep2 = upload_assay_file(store, later, PROJECT, archive_dir=tmp_path / "archive", uploader="alice")
    assert rep2.status == "committed", rep2.to_dict()
    return {"model_id": model.model_id, "later": [c for c, _ in everything[-LATER:]],
            "first": [c for c, _ in everything[:-LATER]], "preds": preds.set_index("compound_id")}


def _key(smiles: str) -> str:
    from lab_sync.upload import default_structure_key

    return default_structure_key(smiles)[1]
