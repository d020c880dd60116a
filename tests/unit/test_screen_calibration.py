"""A screen simulates measured references first, so physics is calibrated against the series;
a rerun takes those runs from the cache (real Tyk2 data, short real MD)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lab_sync.store import open_store
from pipeline.config import DEMO_CONFIG, load_config
from pipeline.screen import run_screen
from ranking.calibrate import fit_physics_calibration

SETTINGS = ["generate.max_candidates=20", "screen.simulate_top_n=1", "screen.simulate_measured_n=5",
            "model.model_kinds=[random_forest]", "model.n_estimators=20", "model.cv_folds=3",
            "admet.enabled=false", "simulate.charge_methods=[mmff94]", "simulate.pose_method=mcs",
            "simulate.minimize_max_iterations=50", "simulate.equilibration_steps=20",
            "simulate.production_steps=100", "simulate.report_interval_steps=10", "simulate.cpu_threads=1"]


@pytest.mark.slow  # six short MD runs (~2-4 min on the shared 2-core VM), then a cached rerun
def test_references_are_simulated_first_calibrate_and_are_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, [*SETTINGS, f"results_dir={tmp_path / 'results'}"])
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    open_store(db)
    summary = run_screen(cfg, db)
    assert summary["status"] == "completed"
    run_dir = Path(summary["results_dir"])
    sims = pd.read_parquet(run_dir / "simulations.parquet")
    roles = sims["simulation_role"].fillna("").tolist()
    assert roles[:5] == ["measured_reference"] * 5 and roles[5] == ""  # references first
    refs = sims.iloc[:5]
    assert (refs["status"] == "ok").all(), refs[["compound_id", "message"]]
    measured = pd.read_parquet(run_dir / "measured.parquet").set_index("compound_id")
    pkd = measured.loc[refs["compound_id"], "p_activity"]
    assert pkd.min() == measured["p_activity"].min() and pkd.max() == measured["p_activity"].max()

    ranked = pd.read_parquet(run_dir / "ranked_candidates.parquet")
    calibration = fit_physics_calibration(ranked, cfg.rank.calibration)
    assert calibration.n == 5 and f"n = 5, leave-one-out R = {calibration.loo_r:+.2f}" in calibration.message
    html = (run_dir / "report.html").read_text()
    assert "Physics calibration:" in html and calibration.message[:20] in html
    assert f"leave-one-out R = {calibration.loo_r:+.2f}" in html
    notes = json.loads((run_dir / "report_context.json").read_text())["notes"]
    assert any("5 measured compounds simulated as calibration references" in n for n in notes)
    simulated = ranked["mmgbsa_kcal_mol"].notna()
    if calibration.used:  # then every simulated compound carries the predictive distribution
        assert ranked.loc[simulated, "calibrated_physics_sd"].gt(0).all()
        assert ranked.loc[simulated, "activity_evidence"].str.contains("calibrated physics").all()
    else:
        assert calibration.message.startswith("not calibrated")
        assert ranked["calibrated_physics_p"].isna().all()

    again = run_screen(cfg, db)
    resims = pd.read_parquet(Path(again["results_dir"]) / "simulations.parquet")
    reused = resims["notes"].str.contains("reused cached run")
    assert reused.iloc[:5].all()  # the references come from the content-hash cache
