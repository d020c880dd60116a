"""moltwin generate / moltwin filter as a user runs them: subprocesses, exit codes, files, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
TYK2_CSV = REPO / "data" / "tyk2" / "tyk2_measurements.csv"
CORE = "O=C(Nc1ccnc(NC(=O)[*:1])c1)[*:2]"


def run(args, tmp_path):
    env = {**os.environ, "MOLTWIN_HOME": str(tmp_path / "home"), "MOLTWIN_DB": str(tmp_path / "twin.db")}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)


def test_generate_rgroups_from_files_then_filter_the_output(tmp_path):
    (tmp_path / "acyl.smi").write_text("[*]C1CC1 cyclopropyl\n[*]C(C)C isopropyl\n[*]C1CCOCC1 oxanyl\n")
    (tmp_path / "aryl.smi").write_text("[*]c1c(Cl)cccc1Cl\n[*]c1ccccc1F\n")
    out = run(["generate", "--core", CORE, "--rgroups", f"1={tmp_path / 'acyl.smi'}",
               "--rgroups", f"2={tmp_path / 'aryl.smi'}", "--no-shipped-substituents",
               "--max", 4, "--seed", 1, "--out", tmp_path / "cands.parquet", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["n_candidates"] == 4 and summary["by_origin"] == {"rgroup": 4}
    cands = pd.read_parquet(tmp_path / "cands.parquet")
    assert len(cands) == 4 and cands["compound_id"].str.startswith("MT-").all()

    out = run(["filter", "--in", tmp_path / "cands.parquet", "--out", tmp_path / "kept.csv",
               "--rejected", tmp_path / "rejected.csv", "--funnel", tmp_path / "funnel.csv",
               "--known", TYK2_CSV, "--fingerprints", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    kept = pd.read_csv(tmp_path / "kept.csv")
    assert summary["n_input"] == 4 and summary["n_kept"] == len(kept) > 0
    assert {"origin", "provenance", "max_tanimoto_known", "morgan_fp"} <= set(kept.columns)
    assert pd.read_csv(tmp_path / "funnel.csv")["n_out"].iloc[-1] == len(kept)


def test_filter_messy_smiles_counts_failures_with_lines(tmp_path):
    src = tmp_path / "messy.smi"
    src.write_text("O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl ejm_46\nC1CC( broken\n"
                   "C[Hg]Cl mercury\nO=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl ejm_46\n")
    cfg = tmp_path / "filter.yaml"
    cfg.write_text("alert_catalogs: []\n")
    out = run(["filter", "--in", src, "--out", tmp_path / "kept.sdf", "--failures",
               tmp_path / "failures.csv", "--config", cfg, "--processes", 2, "--chunk-size", 2],
              tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 kept" in out.stdout and "3 failed" in out.stdout and "line 2: broken" in out.stdout
    failures = pd.read_csv(tmp_path / "failures.csv")
    assert list(zip(failures.input_line, failures.reason_code)) == [
        (2, "unparsable_smiles"), (3, "metal_or_radical"), (4, "duplicate_id")]
    assert (tmp_path / "kept.sdf").read_text().startswith("ejm_46")


def test_empty_file_exits_2_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    out = run(["filter", "--in", empty, "--out", tmp_path / "k.parquet"], tmp_path)
    assert out.returncode == 2 and "empty.smi" in out.stderr and "empty" in out.stderr
    assert not (tmp_path / "k.parquet").exists()


def invoke(args):
    """In-process run (CliRunner) for the quick error cases; the exit code mapping is the same."""
    from typer.testing import CliRunner

    from interfaces.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_bad_inputs_exit_2_naming_file_row_field(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,structure\na,CCO\n")
    out = invoke(["filter", "--in", wrong, "--out", tmp_path / "k.parquet"])
    assert out.exit_code == 2 and "wrong.csv" in out.output and "row 1" in out.output
    assert "'smiles'" in out.output

    cfg = tmp_path / "bad.yaml"
    cfg.write_text("filter:\n  qed_minimum: 0.4\n")
    out = invoke(["filter", "--in", wrong, "--out", tmp_path / "k.parquet", "--config", cfg])
    assert out.exit_code == 2 and "bad.yaml" in out.output and "filter.qed_minimum" in out.output

    out = invoke(["filter", "--in", wrong, "--out", tmp_path / "k.xlsx"])
    assert out.exit_code == 2 and "k.xlsx" in out.output

    out = invoke(["generate", "--out", tmp_path / "c.parquet"])
    assert out.exit_code == 2 and "nothing to generate" in out.output

    out = invoke(["generate", "--core", CORE, "--rgroups", "one=acyl.smi", "--out", tmp_path / "c.csv"])
    assert out.exit_code == 2 and "--rgroups" in out.output

    out = invoke(["generate", "--method", "brics", "--out", tmp_path / "c.csv"])
    assert out.exit_code == 2 and "--series" in out.output
    assert not list(tmp_path.glob("c.*")) and not list(tmp_path.glob("k.*"))


def test_generate_analogs_of_a_series_to_smiles(tmp_path):
    out = invoke(["generate", "--series", TYK2_CSV, "--method", "mutation", "--max", 6,
                  "--out", tmp_path / "analogs.smi", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["by_origin"] == {"mutation": 6} and summary["n_seeds"] == 16
    lines = (tmp_path / "analogs.smi").read_text().splitlines()
    assert len(lines) == 6 and all("\tMT-" in ln for ln in lines)
