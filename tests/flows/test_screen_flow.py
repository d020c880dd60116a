"""The screen flow end to end on the real Tyk2 demo data, small enough for CI."""

from __future__ import annotations

import pandas as pd

from lab_sync.store import open_store
from pipeline.config import DEMO_CONFIG, load_config

SMALL = ["generate.max_candidates=40", "screen.simulate_top_n=1", "screen.simulate_measured_n=0",
         "simulate.minimize_max_iterations=50",
         "simulate.equilibration_steps=20", "simulate.production_steps=40", "simulate.report_interval_steps=10"]


def test_screen_flow_runs_every_stage_and_records_the_run(tmp_path, monkeypatch):
    from flows.screen import screen_flow

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, [*SMALL, f"results_dir={tmp_path / 'results'}"])
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    summary = screen_flow(config=cfg, db_url=db)

    assert summary["status"] == "completed"
    run_dir = tmp_path / "results" / summary["run_id"]
    html = (run_dir / "report.html").read_text()
    assert "tyk2-demo" in html and "<svg" in html
    for name in ("candidates", "filter_kept", "funnel", "predictions", "simulations", "ranked_candidates"):
        assert (run_dir / f"{name}.parquet").is_file(), name
    ranked = pd.read_parquet(run_dir / "ranked_candidates.parquet")
    assert {"ejm_31", "jmc_30"} <= set(ranked["compound_id"])  # measured series is ranked too
    assert set(ranked["decision"]) <= {"advance", "hold", "deprioritize"}

    sims = pd.read_parquet(run_dir / "simulations.parquet")
    assert len(sims) == 1
    assert sims.loc[0, "status"] == "ok", sims.loc[0, "message"]
    assert sims.loc[0, "mmgbsa_kcal_mol"] < 0  # a bound pose has favourable interaction energy

    store = open_store(db)
    runs = store.read_table("runs", "tyk2-demo")
    assert list(runs["status"]) == ["completed"]
    assert store.count("measurements", "tyk2-demo") == 16
    assert store.count("predictions", "tyk2-demo") == summary["model"]["n_predicted"]
    assert store.count("rankings", "tyk2-demo") == len(ranked)
    assert store.count("simulations", "tyk2-demo") == 1
