"""Kill a screen run with SIGKILL, run it again: finished work is reused, the result is the same.

The killed run is a real ``moltwin screen`` process (and, in Prefect mode, its ephemeral
Prefect server) in its own process group, killed with SIGKILL like a machine losing power.
The re-run uses the same config, twin home and database. The reference is an
uninterrupted run in a fresh home and database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lab_sync.store import open_store
from pipeline.config import DEMO_CONFIG, load_config

MOLTWIN = str(Path(sys.executable).parent / "moltwin")
FAST_MD = ["screen.simulate_measured_n=0",
           "simulate.charge_methods=[mmff94]", "simulate.pose_method=mcs", "simulate.pose_check=\"off\"",
           "simulate.ligand_protonation=keep", "simulate.minimize_max_iterations=20",
           "simulate.equilibration_steps=10", "simulate.production_steps=40",
           "simulate.report_interval_steps=10", "simulate.checkpoint_interval_steps=20", "simulate.cpu_threads=1"]


class Site:
    """One twin: home folder, database and results folder."""

    def __init__(self, root: Path) -> None:
        self.home, self.db, self.results = root / "home", f"sqlite:///{root / 'twin.db'}", root / "results"
        (self.home / "prefect").mkdir(parents=True)
        open_store(self.db)  # `moltwin db init`: screen never creates a store

    def env(self) -> dict:
        env = {**os.environ, "MOLTWIN_HOME": str(self.home), "PREFECT_HOME": str(self.home / "prefect"),
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
        env.pop("PREFECT_API_URL", None)
        return env

    def command(self, overrides: list[str], prefect: bool) -> list[str]:
        sets = [x for o in [*overrides, f"results_dir={self.results}"] for x in ("--set", o)]
        return [MOLTWIN, "screen", "--db", self.db, *sets, *([] if prefect else ["--no-prefect"])]

    def run_screen(self, overrides: list[str], prefect: bool) -> dict:
        done = subprocess.run(self.command(overrides, prefect), env=self.env(), capture_output=True,
                              text=True, timeout=1200)
        assert done.returncode == 0, done.stderr[-3000:]
        return self.latest_summary()

    def latest_summary(self) -> dict:
        import json

        runs = open_store(self.db).read_table("runs")
        run = runs[runs["status"] == "completed"].sort_values("started_at").iloc[-1]
        return json.loads((Path(run["results_dir"]) / "summary.json").read_text())

    def ranked(self, summary: dict, columns=("compound_id", "rank", "decision")) -> pd.DataFrame:
        table = pd.read_parquet(Path(summary["results_dir"]) / "ranked_candidates.parquet")
        return table[list(columns)].sort_values("compound_id").reset_index(drop=True)


def assert_same_ranking_up_to_md_noise(resumed: pd.DataFrame, reference: pd.DataFrame,
                                       score_tol: float = 0.005) -> None:
    """Same compounds and decisions; the same rank, except neighbours whose scores differ by
    less than the run-to-run noise of CPU MD (the pocket's cap hydrogens are placed at random,
    so two fresh runs of the same ligand differ by ~0.2 kcal/mol)."""
    both = resumed.merge(reference, on="compound_id", suffixes=("", "_ref"), validate="1:1")
    assert len(both) == len(resumed) == len(reference)
    assert (both["decision"] == both["decision_ref"]).all()
    score_at = dict(zip(both["rank_ref"], both["score_ref"]))
    for row in both[both["rank"] != both["rank_ref"]].itertuples():
        assert abs(row.rank - row.rank_ref) == 1, row
        assert abs(row.score_ref - score_at[row.rank]) < score_tol, row


def _kill_when(site: Site, overrides: list[str], prefect: bool, ready, timeout_s: float = 900) -> None:
    """Start a screen run, SIGKILL its whole process group as soon as ``ready()`` is true."""
    proc = subprocess.Popen(site.command(overrides, prefect), env=site.env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            assert proc.poll() is None, f"the run ended before the kill point: {proc.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline, "kill point not reached in time"
            time.sleep(0.2)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # the whole group had already exited
            pass
        proc.wait(timeout=60)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _filter_cached(site: Site) -> bool:
    return any(p.is_dir() for p in (site.home / "cache" / "stages" / "filter").glob("*/[!.]*"))


def _n_simulations(site: Site) -> int:
    try:
        return open_store(site.db, migrate=False).count("simulations")
    except Exception:  # noqa: BLE001 - the store may not exist yet
        return 0


def test_sigkill_after_filter_then_rerun_reuses_the_finished_stages(tmp_path, monkeypatch):
    overrides = ["generate.max_candidates=30", "screen.simulate_top_n=0", "model.model_kinds=[random_forest]",
                 "model.n_estimators=20", "model.cv_folds=3", "admet.enabled=false"]  # ADMET reuse: unit-tested
    site = Site(tmp_path / "killed")
    _kill_when(site, overrides, prefect=False, ready=lambda: _filter_cached(site))
    store = open_store(site.db)
    assert list(store.read_table("runs")["status"]) == ["running"]  # it died mid-run
    n_registered = store.count("compounds", "tyk2-demo")

    from pipeline.screen import run_screen

    monkeypatch.setenv("MOLTWIN_HOME", str(site.home))
    cfg = load_config(DEMO_CONFIG, [*overrides, f"results_dir={site.results}"])
    summary = run_screen(cfg, site.db)
    print("re-run cache:", {k: summary[k]["cache"] for k in ("generate", "filter", "model")})
    assert summary["generate"]["cache"] == "hit" and summary["filter"]["cache"] == "hit"
    assert summary["filter"]["n_kept"] > 0  # not all rejected as "already registered" by the killed run
    assert store.count("compounds", "tyk2-demo") == n_registered  # survivors registered once

    fresh = Site(tmp_path / "fresh")
    monkeypatch.setenv("MOLTWIN_HOME", str(fresh.home))
    reference = run_screen(cfg, fresh.db)
    assert reference["filter"]["cache"] == "miss"
    pd.testing.assert_frame_equal(site.ranked(summary), fresh.ranked(reference))


@pytest.mark.slow
def test_sigkill_mid_simulation_then_rerun_recomputes_only_what_is_missing(tmp_path):
    overrides = ["generate.max_candidates=40", "screen.simulate_top_n=3", *FAST_MD]
    site = Site(tmp_path / "killed")
    _kill_when(site, overrides, prefect=True, ready=lambda: _n_simulations(site) >= 1)
    done = open_store(site.db).read_table("simulations")
    finished = set(done["compound_id"])

    summary = site.run_screen(overrides, prefect=True)
    sims = pd.read_parquet(Path(summary["results_dir"]) / "simulations.parquet")
    reused = sims[sims["notes"].str.contains("reused cached")]
    print(f"killed after {len(finished)} simulation(s); re-run reused {len(reused)} of {len(sims)}; "
          "stage cache:", {k: summary[k]["cache"] for k in ("generate", "filter", "model")})
    assert len(sims) == 3
    assert finished <= set(reused["compound_id"])  # every finished simulation was reused, not re-run
    assert all(summary[k]["cache"] == "hit" for k in ("generate", "filter", "model"))

    fresh = Site(tmp_path / "fresh")
    reference = fresh.run_screen(overrides, prefect=False)
    assert [s["compound_id"] for s in reference["simulations"]] == list(sims["compound_id"])
    assert [s["status"] for s in reference["simulations"]] == list(sims["status"])
    cols = ("compound_id", "rank", "decision", "score")
    assert_same_ranking_up_to_md_noise(site.ranked(summary, cols), fresh.ranked(reference, cols))
