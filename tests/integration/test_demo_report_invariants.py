"""A real screen on the bundled Tyk2 demo config renders a report whose decisions are coherent.

The fast test screens a small slice of the demo (30 generated analogs, no MD, a small forest,
no ADMET); the slow one runs the demo as ``moltwin demo --no-prefect`` does (400 analogs,
model choice, ADMET, three MD runs; ~6 min on a quiet machine). Both check every invariant of
:mod:`_report_invariants` on the run folder: identical values in table, "why" text, CSV and
Parquet; rank order = decision order; designed compounds advance only within the make
capacity; p(clear) not 0 for every unmeasured compound; no "hit" for never-made compounds;
the next batch within the σ bound.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _report_invariants import check_run_report  # noqa: E402

from lab_sync.store import open_store  # noqa: E402
from pipeline.config import DEMO_CONFIG, load_config  # noqa: E402

def _screen(tmp_path: Path, monkeypatch, overrides: list[str]) -> tuple[Path, object]:
    from pipeline.screen import run_screen

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    open_store(db)  # `moltwin db init`: a screen never creates a store
    config = load_config(DEMO_CONFIG, [*overrides, f"results_dir={tmp_path / 'results'}"])
    summary = run_screen(config, db)
    return Path(summary["results_dir"]), config


def test_small_real_screen_report_is_coherent(tmp_path, monkeypatch):
    run_dir, config = _screen(tmp_path, monkeypatch, [
        "generate.max_candidates=30", "screen.simulate_top_n=0", "model.model_kinds=[random_forest]",
        "model.n_estimators=20", "model.cv_folds=3", "admet.enabled=false"])
    counts = check_run_report(run_dir, config.rank)
    print("small demo screen:", json.dumps(counts))
    assert counts["n"] >= 30 and counts["unmeasured_p_positive"] > 0


@pytest.mark.slow
def test_demo_report_is_coherent(tmp_path, monkeypatch):
    run_dir, config = _screen(tmp_path, monkeypatch, [])
    counts = check_run_report(run_dir, config.rank)
    print("demo screen:", json.dumps(counts))
    assert counts["n"] >= 300  # 16 measured + the generated analogs
