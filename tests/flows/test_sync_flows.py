"""The sync_assays and dmta_cycle flows on the real Tyk2 series, and the upload trigger through a deployment."""

from __future__ import annotations

from pathlib import Path

from lab_sync.store import open_store
from lab_sync.upload import default_structure_key, upload_assay_file
from pipeline.config import DEMO_CONFIG

FAST_MODEL = ["model.model_kinds=[knn,random_forest]", "model.n_estimators=30", "model.cv_folds=3"]


def _split_tyk2(folder: Path, n_first: int = 8, n_later: int = 4):
    """First upload, a later upload, and every ligand not in the first upload registered as a design
    (so some designs stay unmeasured and can be proposed)."""
    lines = (DEMO_CONFIG.parent.parent / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    first, later = folder / "first.csv", folder / "later.csv"
    first.write_text("\n".join([lines[0], *lines[1:1 + n_first]]) + "\n")
    later.write_text("\n".join([lines[0], *lines[1 + n_first:1 + n_first + n_later]]) + "\n")
    designs = []
    for line in lines[1 + n_first:]:
        cid, smiles = line.split(",")[:2]
        canonical, key = default_structure_key(smiles)
        designs.append({"compound_id": cid, "smiles": canonical, "inchikey": key, "origin": "design"})
    return first, later, designs


def _first_cycle_predictions(store, project: str) -> str:
    """A first model on the measured series predicting every registered compound (into the ledger)."""
    import pandas as pd

    from chem.models.predict import predict_activity
    from chem.models.settings import ModelSettings
    from chem.models.train import train_activity_model
    from lab_sync.twin_records import record_model, record_predictions, series_activities

    measured, _ = series_activities(store, project)
    model = train_activity_model(measured.rename(columns={"p_qualifier": "qualifier"}),
                                 ModelSettings(model_kinds=["knn", "random_forest"], n_estimators=30, cv_folds=3))
    registry = store.read_table("compounds", project).rename(columns={"canonical_smiles": "smiles"})
    preds = predict_activity(model, registry[["compound_id", "smiles"]])
    record_model(store, project, model, "", "{}")
    record_predictions(store, project, preds, model.model_id, run_id="first-cycle")
    return model.model_id


def test_dmta_cycle_uploads_then_syncs_as_a_subflow(tmp_path, monkeypatch):
    from flows.dmta_cycle import AssayFileParam, DmtaCycleParams, dmta_cycle_flow

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    first, later, designs = _split_tyk2(tmp_path)
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    store = open_store(db)
    upload_assay_file(store, first, "tyk2-demo", archive_dir=tmp_path / "archive")
    store.register_compounds("tyk2-demo", designs)
    first_model = _first_cycle_predictions(store, "tyk2-demo")

    cycle = dmta_cycle_flow(DmtaCycleParams(
        project="tyk2-demo", db_url=db, results_dir=tmp_path / "results", config_path=DEMO_CONFIG,
        overrides=FAST_MODEL, assay_files=[AssayFileParam(path=later)], next_batch_size=3))
    assert [u["status"] for u in cycle["uploads"]] == ["committed"]
    assert cycle["status"] == "completed" and 1 <= len(cycle["next_batch"]) <= 3
    assert set(cycle["next_batch"]) <= {d["compound_id"] for d in designs[4:]}  # the still unmeasured ones
    first_cycle = next(c for c in cycle["ledger"] if c["model_id"] == first_model)
    assert first_cycle["cycle"] == 1 and first_cycle["n_prospective"] == 4
    assert (Path(cycle["report_html"])).is_file()
    runs = store.read_table("runs", "tyk2-demo")
    assert list(runs["status"]) == ["completed"] and list(runs["kind"]) == ["sync_assays"]


def test_trigger_sync_schedules_the_sync_deployment_or_falls_back(tmp_path, monkeypatch):
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    from flows.sync_assays import sync_assays_flow
    from flows.sync_trigger import trigger_sync

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    sync_assays_flow.to_deployment(name="sync-assays").apply()
    first, _, _ = _split_tyk2(tmp_path)
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    up = upload_assay_file(open_store(db), first, "p", archive_dir=tmp_path / "archive")

    result = trigger_sync(db, "p", up.upload_id)
    assert result["mode"] == "deployment" and result["deployment"] == "sync_assays/sync-assays"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(result["flow_run_id"])
    assert run.state.is_scheduled() and run.parameters["params"]["upload_id"] == up.upload_id
    assert trigger_sync(db, "p", up.upload_id)["flow_run_id"] == result["flow_run_id"]  # idempotent per upload
    assert open_store(db).count("runs") == 0  # a worker runs it, not the uploader

    monkeypatch.setenv("MOLTWIN_SYNC_DEPLOYMENT", "sync_assays/absent")
    direct = trigger_sync(db, "p", up.upload_id, results_dir=tmp_path / "results",
                          starter=[*FAST_MODEL, "admet.enabled=false"])  # p's first twin
    assert direct["mode"] == "direct" and "no deployment 'sync_assays/absent'" in direct["notes"][0]
    assert open_store(db).count("runs") == 1
