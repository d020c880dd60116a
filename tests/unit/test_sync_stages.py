"""sync_project on the real Tyk2 series: a first cycle predicts six ligands that are measured later.

The scenario takes six measured Tyk2 ligands out of the first upload: they are registered as
designs (structures only), predicted by the first sync's model, then their real measurements
are uploaded and the second sync scores what the first model had said.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lab_sync.store import open_store
from lab_sync.upload import default_structure_key, upload_assay_file
from pipeline.config import DEMO_CONFIG, load_config
from pipeline.twin_update import apply_overrides, resolve_config, sync_project

FAST_MODEL = ["model.model_kinds=[knn,random_forest]", "model.n_estimators=30", "model.cv_folds=3"]


def split_tyk2(repo_dir, folder, n_first=10):
    lines = (repo_dir / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    first, later = folder / "first.csv", folder / "later.csv"
    first.write_text("\n".join([lines[0], *lines[1:1 + n_first]]) + "\n")
    later.write_text("\n".join([lines[0], *lines[1 + n_first:]]) + "\n")
    designs = []
    for line in lines[1 + n_first:]:
        cid, smiles = line.split(",")[:2]
        canonical, key = default_structure_key(smiles)
        designs.append({"compound_id": cid, "smiles": canonical, "inchikey": key, "origin": "design"})
    return first, later, designs


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, repo_dir):
    tmp = tmp_path_factory.mktemp("sync")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOLTWIN_HOME", str(tmp / "home"))
        first, later, designs = split_tyk2(repo_dir, tmp)
        db = f"sqlite:///{tmp / 'twin.db'}"
        store = open_store(db)
        up1 = upload_assay_file(store, first, "tyk2-demo", archive_dir=tmp / "archive")
        store.register_compounds("tyk2-demo", designs)
        cfg = load_config(DEMO_CONFIG, [*FAST_MODEL, f"results_dir={tmp / 'results'}"])
        s1 = sync_project(db, "tyk2-demo", upload_id=up1.upload_id, config=cfg)
        up2 = upload_assay_file(store, later, "tyk2-demo", archive_dir=tmp / "archive")
        s2 = sync_project(db, "tyk2-demo", upload_id=up2.upload_id)  # settings from the first sync
        yield {"db": db, "store": store, "s1": s1, "s2": s2, "up1": up1, "up2": up2, "tmp": tmp,
               "designs": [d["compound_id"] for d in designs]}


def test_first_sync_predicts_every_registered_compound_into_the_ledger(scenario):
    s1, store = scenario["s1"], scenario["store"]
    assert s1["status"] == "completed", s1
    assert s1["inputs"]["n_measured_compounds"] == 10 and s1["inputs"]["n_unmeasured_compounds"] == 6
    preds = store.read_table("predictions", "tyk2-demo", run_id=s1["run_id"])
    assert len(preds) == 16 and set(scenario["designs"]) <= set(preds["compound_id"])
    assert (preds["model_id"] == s1["model"]["model_id"]).all()
    assert s1["ranking_changes"] == []  # nothing to compare with yet
    assert len(s1["next_batch"]) >= 1 and set(s1["next_batch"]) <= set(scenario["designs"])
    run_dir = scenario["tmp"] / "results" / s1["run_id"]
    for name in ("report.html", "ranked_candidates.parquet", "ledger.parquet", "summary.json", "next_batch.parquet"):
        assert (run_dir / name).is_file(), name


def test_second_sync_scores_the_first_model_prospectively_and_reports_changes(scenario):
    s1, s2, store = scenario["s1"], scenario["s2"], scenario["store"]
    assert s2["status"] == "completed", s2
    assert s2["model"]["model_id"] != s1["model"]["model_id"] and s2["model"]["n_train"] == 16
    assert s2["inputs"]["uploads_included"] == sorted([scenario["up1"].upload_id, scenario["up2"].upload_id])
    ledger = {row["model_id"]: row for row in s2["ledger"]}
    first = ledger[s1["model"]["model_id"]]
    assert first["cycle"] == 1 and first["n_prospective"] == 6 and first["n_exact"] == 6
    assert 0 < first["rmse"] < 3 and 0 <= first["coverage_80"] <= first["coverage_90"] <= 1
    assert ledger[s2["model"]["model_id"]]["n_prospective"] == 0
    # The six designs are measured now: the ranking moved and the changes say how.
    assert s2["ranking_changes"], "six new measurements should change the ranking"
    kinds = {c["change"] for c in s2["ranking_changes"]}
    assert kinds <= {"decision", "new_in_top", "left_top", "moved"}
    assert not set(s2["next_batch"]) & set(scenario["designs"])  # measured compounds are not proposed
    changes = pd.read_csv(scenario["tmp"] / "results" / s2["run_id"] / "ranking_changes.csv")
    assert len(changes) == len(s2["ranking_changes"])
    runs = store.read_table("runs", "tyk2-demo").set_index("run_id")
    assert list(runs.loc[[s1["run_id"], s2["run_id"]], "kind"]) == ["sync_assays", "sync_assays"]
    assert json.loads(runs.loc[s2["run_id"], "summary_json"])["upload_id"] == scenario["up2"].upload_id
    assert store.count("rankings", "tyk2-demo") == 32


def test_resolve_config_takes_the_latest_run_and_applies_overrides(scenario):
    cfg = resolve_config(scenario["store"], "tyk2-demo")
    assert cfg.model.model_kinds == ["knn", "random_forest"] and cfg.measurements_csv is None
    assert apply_overrides(cfg, ["rank.next_batch.size=3"]).rank.next_batch.size == 3


def test_too_few_measurements_skip_the_retrain_with_a_note(tmp_path, repo_dir, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    first, _, _ = split_tyk2(repo_dir, tmp_path, n_first=5)
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    upload_assay_file(open_store(db), first, "tyk2-demo", archive_dir=tmp_path / "archive")
    cfg = load_config(DEMO_CONFIG, [*FAST_MODEL, f"results_dir={tmp_path / 'results'}"])
    summary = sync_project(db, "tyk2-demo", config=cfg)
    assert summary["status"] == "completed" and summary["model"]["skipped"]
    assert any("too few measurements" in n and "at least 8" in n for n in summary["notes"])
    assert any("ranking not refreshed" in n for n in summary["notes"])
    assert open_store(db).count("predictions") == 0 and open_store(db).count("rankings") == 0


def test_a_new_projects_first_upload_starts_its_twin(tmp_path, repo_dir, monkeypatch):
    """No earlier run: the starter settings train the model, start the ledger and rank the measured."""
    from flows.sync_trigger import trigger_sync
    from lab_sync.projects import create_project

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    first, _, _ = split_tyk2(repo_dir, tmp_path)
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    store = open_store(db)
    create_project(store, "new-series", "Tyk2", created_by="t")
    up = upload_assay_file(store, first, "new-series", archive_dir=tmp_path / "archive")
    result = trigger_sync(db, "new-series", up.upload_id, results_dir=tmp_path / "results",
                          starter=[*FAST_MODEL, "admet.enabled=false"])
    assert result["mode"] == "direct" and result["status"] == "completed", result
    assert result["first_twin"] == "sync" and result["notes"][0].startswith("first twin of new-series")
    assert result["notes"][0].endswith("; no analogs generated (the project has no series core), no MD (no protein)")
    assert len(store.read_table("predictions", "new-series", run_id=result["run_id"])) == 10
    ranked = store.read_table("rankings", run_id=result["run_id"])
    assert len(ranked) == 10 and sorted(ranked["rank"]) == list(range(1, 11))
    assert result["report_html"] and (tmp_path / "results" / result["run_id"] / "report.html").is_file()
    runs = store.read_table("runs", "new-series")
    assert list(runs["kind"]) == ["sync_assays"] and list(runs["status"]) == ["completed"]
    saved = resolve_config(store, "new-series")  # the next upload's sync reuses these settings
    assert saved.target.name == "Tyk2" and saved.target.protein_pdb is None and saved.model.cv_folds == 3


def test_without_starter_a_project_without_settings_is_skipped_and_recorded(tmp_path, repo_dir, monkeypatch):
    from flows.sync_trigger import trigger_sync

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    first, _, _ = split_tyk2(repo_dir, tmp_path)
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    up = upload_assay_file(open_store(db), first, "new-series", archive_dir=tmp_path / "archive")
    result = trigger_sync(db, "new-series", up.upload_id, results_dir=tmp_path / "results", starter=None)
    assert result["mode"] == "direct" and result["status"] == "skipped"
    assert "moltwin screen" in result["notes"][0]
    runs = open_store(db).read_table("runs", "new-series")
    assert list(runs["status"]) == ["skipped"] and list(runs["kind"]) == ["sync_assays"]


def test_sync_computes_the_same_evidence_as_a_full_run_admet_included(scenario):
    s2 = scenario["s2"]
    admet = s2["inputs"]["admet"]
    ranked = pd.read_parquet(scenario["tmp"] / "results" / s2["run_id"] / "ranked_candidates.parquet")
    assert ranked["activity_evidence"].str.contains("→").all()
    if admet["n_admet"]:  # admet-ai installed: every ranked compound has its ADMET risks
        assert ranked["admet_max_risk"].notna().all()
    else:  # the note says why, exactly as a full run's does
        assert admet["note"].startswith("ADMET not predicted")
    # The decision changes say which evidence changed them.
    for change in s2["ranking_changes"]:
        if change["change"] == "decision":
            assert "evidence" in change["detail"]


def test_a_project_created_with_core_and_protein_starts_with_a_screen(tmp_path, repo_dir):
    """The starter settings carry what the project was created with; core + protein make it a screen."""
    from lab_sync.projects import create_project
    from pipeline.twin_update import begin_sync, first_twin_is_screen, starter_config

    db = f"sqlite:///{tmp_path / 'twin.db'}"
    store = open_store(db)
    protein = tmp_path / "p.pdb"
    protein.write_text("ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00  0.00           N\n")
    create_project(store, "with-core", "Tyk2", core_smiles="O=C(N[*:1])c1c(Cl)cccc1Cl",
                   protein_pdb=str(protein), created_by="t")
    create_project(store, "name-only", "Tyk2", created_by="t")
    full = starter_config(store, "with-core", tmp_path / "results", ["screen.simulate_top_n=1"])
    assert full.target.protein_pdb == protein and full.screen.simulate_top_n == 1 and first_twin_is_screen(full)
    ctx, plan = begin_sync(db, "with-core", results_dir=tmp_path / "results")
    assert ctx is None and first_twin_is_screen(plan["starter"])  # sync_project runs the screen
    bare = starter_config(store, "name-only")
    assert bare.target.core_smiles == "" and bare.target.protein_pdb is None and not first_twin_is_screen(bare)
    protein.unlink()  # a stored protein that is gone: no MD rather than a failing run
    assert starter_config(store, "with-core").target.protein_pdb is None
