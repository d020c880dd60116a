"""The command line tells the user what it is doing: flags look like flags in ``--help``, and long
commands write per-stage / per-item progress lines (counts, elapsed time, ETA) on stderr."""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moltwin import progress

REPO = Path(__file__).resolve().parents[2]


def run(args, tmp_path, **env):
    full = {**os.environ, "MOLTWIN_HOME": str(tmp_path / "home"), "MOLTWIN_DB": str(tmp_path / "twin.db"), **env}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=full, timeout=600)


def _all_commands(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, cmd in click_group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _all_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


def test_boolean_flags_show_as_flags_in_help():
    from interfaces.cli import app

    runner = CliRunner()
    upload = runner.invoke(app, ["assays", "upload", "--help"])
    assert upload.exit_code == 0
    assert re.search(r"^\s+--dry-run\s+Validate and report", upload.output, re.M), upload.output
    commands = list(_all_commands(app))
    assert ("assays", "upload") in commands and ("screen",) in commands and len(commands) > 15
    for command in commands:
        text = runner.invoke(app, [*command, "--help"]).output
        assert "<bool>" not in text, (command, text)  # no flag suggests it takes a value
        assert "--help " in text


def test_reporter_lines_have_counts_elapsed_and_eta():
    now = [100.0]
    stream = io.StringIO()
    rep = progress.Reporter("moltwin screen", stream, n_stages=3, clock=lambda: now[0])
    now[0] = 112.0
    rep.stage("filter", {"n_kept": 212, "n_rejected": 180, "funnel": [], "cache": "miss"})
    rep.begin_items("simulate", 3)
    now[0] = 172.0
    rep.item_done("simulate", "ejm_31: ok")
    now[0] = 232.0
    rep.item_done("simulate", "ejm_42: failed (parametrization_failed)")
    now[0] = 292.0
    rep.item_done("simulate", "ejm_55: ok")
    lines = stream.getvalue().splitlines()
    assert lines == ["moltwin screen [0:12] stage 1/3 filter: kept 212, rejected 180 (cache miss)",
                     "moltwin screen [0:12] simulate 0/3 started",
                     "moltwin screen [1:12] simulate 1/3 ejm_31: ok (ETA ~2:00)",
                     "moltwin screen [2:12] simulate 2/3 ejm_42: failed (parametrization_failed) (ETA ~1:00)",
                     "moltwin screen [3:12] simulate 3/3 ejm_55: ok"]


def test_library_calls_print_nothing_unless_a_command_asked(capsys):
    progress.stage("generate", {"n_candidates": 3})
    progress.item_done("simulate", "x")
    assert capsys.readouterr().err == ""
    with progress.to_stderr("t"):
        progress.stage("generate", {"n_candidates": 3})
    assert "stage 1 generate: candidates 3" in capsys.readouterr().err


def test_simulate_prints_one_progress_line_per_ligand_on_stderr(tmp_path):
    lig = tmp_path / "ligs.smi"
    lig.write_text("OB(O)c1ccccc1 boronic\nnot_a_smiles broken\n")
    out = run(["simulate", "--protein", str(REPO / "data/tyk2/protein.pdb"), "--ligands", str(lig),
               "--reference-ligand", str(REPO / "data/tyk2/ligands.sdf"), "--out", str(tmp_path / "o"),
               "--json"], tmp_path)
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)  # stdout stays machine-readable
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("moltwin simulate [")]
    assert any(re.search(r"simulate 1/\d+ \S+: failed \(ETA ~\d+:\d\d\)", ln) for ln in lines), out.stderr
    assert any(" simulate 2/2 " in ln for ln in lines) or any(" simulate 1/1 " in ln for ln in lines), out.stderr


@pytest.mark.slow  # a small screen, a sync and a model evaluation in subprocesses (~1-2 min)
def test_screen_sync_and_evaluate_report_their_stages_on_stderr(tmp_path):
    sets = ["generate.max_candidates=20", "screen.simulate_top_n=0", "model.model_kinds=[random_forest]",
            "model.n_estimators=20", "model.cv_folds=3", f"results_dir={tmp_path / 'results'}"]
    assert run(["db", "init"], tmp_path).returncode == 0  # only db init (or the demo) creates a store
    screen = run(["screen", "--no-prefect", *[x for s in sets for x in ("--set", s)]], tmp_path)
    assert screen.returncode == 0, screen.stderr[-3000:]
    stages = re.findall(r"^moltwin screen \[\d+:\d\d\] stage (\d)/7 (\w+)", screen.stderr, re.M)
    assert [name for _, name in stages] == ["sync", "generate", "filter", "train_predict", "simulate", "admet",
                                            "rank_report"], screen.stderr
    assert re.search(r"stage 2/7 generate: candidates \d+", screen.stderr)
    sync = run(["assays", "sync", "--project", "tyk2-demo"], tmp_path)
    assert sync.returncode == 0, sync.stderr[-3000:]
    names = re.findall(r"^moltwin sync \[\d+:\d\d\] stage \d/5 (\w+)", sync.stderr, re.M)
    assert names[:3] == ["collect_inputs", "retrain_predict", "score_ledger"], sync.stderr
    csv = tmp_path / "act.csv"
    rows = [ln.split(",") for ln in (REPO / "data/tyk2/tyk2_measurements.csv").read_text().splitlines()[1:]]
    csv.write_text("compound_id,smiles,pKi\n" + "".join(f"{r[0]},{r[1]},{9 - math.log10(float(r[5])):.3f}\n"
                                                          for r in rows))
    ev = run(["models", "evaluate", "--data", str(csv), "--target-col", "pKi", "--id-col", "compound_id",
              "--split", "random"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert re.search(r"^moltwin models evaluate \[\d+:\d\d\] evaluate \d/\d \w+: RMSE \d\.\d\d \(train \d",
                     ev.stderr, re.M), ev.stderr
    assert re.search(r"^moltwin models evaluate \[\d+:\d\d\] cross-validation \d+/\d+ ", ev.stderr, re.M), ev.stderr
    assert not re.search(r"^moltwin models evaluate: ", ev.stderr, re.M)  # one progress mechanism only
