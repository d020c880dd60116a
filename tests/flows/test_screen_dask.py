"""The screen flow fans its filter chunks (and simulations) out on a Dask LocalCluster."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from pipeline import run_context, stages
from pipeline.config import DEMO_CONFIG, load_config

FAST_MD = ["screen.simulate_measured_n=0",
           "simulate.charge_methods=[mmff94]", "simulate.pose_method=mcs", "simulate.pose_check=\"off\"",
           "simulate.ligand_protonation=keep", "simulate.minimize_max_iterations=20",
           "simulate.equilibration_steps=10", "simulate.production_steps=40",
           "simulate.report_interval_steps=10", "simulate.checkpoint_interval_steps=20", "simulate.cpu_threads=1"]


def _task_runs(flow_run_id) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                     sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=200)


def _run_on_dask(tmp_path, monkeypatch, overrides):
    from flows.runners import dask_runner
    from flows.screen import screen_flow

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, [*overrides, f"results_dir={tmp_path / 'results'}"])
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    state = screen_flow.with_options(task_runner=dask_runner(n_workers=2))(
        config=cfg, db_url=db, return_state=True)
    return cfg, db, state


def test_filter_chunks_fan_out_on_a_local_dask_cluster(tmp_path, monkeypatch):
    cfg, db, state = _run_on_dask(tmp_path, monkeypatch, [
        "generate.max_candidates=24", "screen.batch_size=6", "screen.simulate_top_n=0",
        "model.model_kinds=[random_forest]", "model.n_estimators=20", "model.cv_folds=3", "admet.enabled=false"])
    summary = state.result()
    assert summary["status"] == "completed"
    chunk_runs = [t for t in _task_runs(state.state_details.flow_run_id) if t.name.startswith("filter-chunk-")]
    assert sorted(t.name for t in chunk_runs) == [f"filter-chunk-{i}" for i in range(4)]
    assert all(t.state.is_completed() for t in chunk_runs)

    # Same tables as the serial filter on the same candidates (a fresh store, no cache).
    run_dir = tmp_path / "results" / summary["run_id"]
    monkeypatch.setenv("MOLTWIN_STAGE_CACHE", "off")
    serial = run_context.begin_run(cfg, f"sqlite:///{tmp_path / 'serial.db'}")
    stages.stage_sync_measurements(serial)
    shutil.copyfile(run_dir / "candidates.parquet", serial.path / "candidates.parquet")
    expected = stages.stage_filter(serial)
    assert summary["filter"]["funnel"] == expected["funnel"]
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "filter_kept.parquet")[["compound_id", "inchikey"]],
                                  pd.read_parquet(serial.path / "filter_kept.parquet")[["compound_id", "inchikey"]])


@pytest.mark.slow
def test_simulations_fan_out_on_a_local_dask_cluster(tmp_path, monkeypatch):
    cfg, db, state = _run_on_dask(tmp_path, monkeypatch, [
        "generate.max_candidates=40", "screen.simulate_top_n=2", *FAST_MD])
    summary = state.result()
    sims = [t for t in _task_runs(state.state_details.flow_run_id) if t.name.startswith("simulate-")]
    assert len(sims) == 2 and all(t.state.is_completed() for t in sims)
    assert [s["compound_id"] for s in summary["simulations"]] == \
        [item["compound_id"] for item in stages.select_for_simulation(
            stages.RunContext(summary["run_id"], summary["results_dir"], db, cfg.model_dump_json()))]
    assert any(s["status"] == "ok" for s in summary["simulations"]), summary["simulations"]
