"""The first Prefect run on a fresh machine: an empty ``PREFECT_HOME`` must not time out.

Each test runs in a child process with a new, empty Prefect home, like ``make demo`` right after
``git clone``: Prefect's database does not exist yet and its temporary server has to start.
``.ci/run`` runs this file with ``--runslow`` after the fast suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MOLTWIN = str(Path(sys.executable).parent / "moltwin")

TINY_FLOW = """
import json, sys
from flows.local_server import local_prefect
with local_prefect() as info:
    from prefect import flow

    @flow(name="first-run-probe")
    def probe(x: int) -> int:
        return x + 1

    info["result"] = probe(41)
print(json.dumps(info))
"""


def _fresh_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), MOLTWIN_HOME=str(tmp_path / "home"),
               PYTHONPATH=f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep))
    return env


@pytest.mark.slow
def test_first_flow_on_an_empty_prefect_home_creates_the_database_then_runs(tmp_path):
    env = _fresh_env(tmp_path)
    assert not Path(env["PREFECT_HOME"]).exists()
    first = subprocess.run([sys.executable, "-c", TINY_FLOW], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    info = json.loads(first.stdout.strip().splitlines()[-1])
    assert info["result"] == 42 and info["mode"] == "ephemeral"
    assert info["migrated_s"] is not None and info["startup_timeout_s"] >= 600
    assert "first Prefect run here: creating Prefect's database" in first.stderr
    assert (Path(env["PREFECT_HOME"]) / "prefect.db").is_file()

    again = subprocess.run([sys.executable, "-c", TINY_FLOW], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["migrated_s"] is None  # created once
    assert "creating Prefect's database" not in again.stderr


@pytest.mark.slow
def test_small_screen_through_prefect_on_an_empty_prefect_home(tmp_path):
    """The CLI's Prefect path (``moltwin screen``, what ``make demo`` runs) on a fresh home."""
    env = _fresh_env(tmp_path)
    sets = ["generate.max_candidates=20", "screen.simulate_top_n=0", "model.model_kinds=[random_forest]",
            "model.n_estimators=20", "model.cv_folds=3", f"results_dir={tmp_path / 'results'}"]
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    init = subprocess.run([MOLTWIN, "db", "init", "--db", db], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)  # only db init (or the demo) creates a twin store
    assert init.returncode == 0, init.stderr[-3000:]
    done = subprocess.run([MOLTWIN, "screen", "--db", db,
                           *[x for s in sets for x in ("--set", s)], "--json"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    assert summary["status"] == "completed"
    assert Path(summary["report_html"]).is_file()
    assert "first Prefect run here" in done.stderr
    # the Prefect path reports its stages on stderr too
    assert "moltwin screen" in done.stderr and "stage 7/7 rank_report" in done.stderr, done.stderr[-3000:]
