"""The CLI as a user runs it: real subprocesses, exit codes, JSON output, nothing stored on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(args, tmp_path, **kw):
    env = {**os.environ, "MOLTWIN_HOME": str(tmp_path / "home"), "MOLTWIN_DB": str(tmp_path / "twin.db")}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300, **kw)


def test_help_lists_the_commands(tmp_path):
    out = run(["--help"], tmp_path)
    assert out.returncode == 0
    for command in ("demo", "screen", "assays", "report", "simulate", "models", "db", "generate", "filter",
                    "serve", "users"):
        assert command in out.stdout


def test_help_does_not_import_heavy_libraries(tmp_path):
    code = ("import sys; sys.argv=['moltwin','--help']\nimport interfaces.cli\ntry:\n interfaces.cli.app()\n"
            "except SystemExit: pass\nheavy=[m for m in ('rdkit','openmm','prefect','sklearn','pandas','torch') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_unknown_option_exits_2(tmp_path):
    assert run(["screen", "--frobnicate"], tmp_path).returncode == 2


def test_bad_config_exits_2_with_file_and_field_and_stores_nothing(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("project: demo\ntarget:\n  name: x\n")
    out = run(["screen", "--config", str(cfg), "--no-prefect"], tmp_path)
    assert out.returncode == 2
    assert "bad.yaml" in out.stderr and "target" in out.stderr
    assert not (tmp_path / "twin.db").exists()


def test_assay_upload_exit_codes_and_json(tmp_path):
    data = REPO / "tests" / "data" / "assays"
    typo = run(["assays", "upload", str(data / "messy_mixed.csv"), "--project", "p"], tmp_path)
    assert typo.returncode == 2 and "no twin store at" in typo.stderr  # never created silently
    assert not (tmp_path / "twin.db").exists()
    assert run(["db", "init"], tmp_path).returncode == 0
    dry = run(["assays", "upload", str(data / "messy_mixed.csv"), "--project", "p", "--dry-run", "--json"], tmp_path)
    assert dry.returncode == 1, dry.stderr
    report = json.loads(dry.stdout)
    assert report["status"] == "dry_run" and report["n_valid"] == 3
    assert any(e["row"] == 8 and e["column"] == "units" for e in report["errors"])
    ok = run(["assays", "upload", str(data / "chembl_export.csv"), "--project", "p", "--json"], tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    again = run(["assays", "upload", str(data / "chembl_export.csv"), "--project", "p"], tmp_path)
    assert again.returncode == 2 and "already uploaded" in again.stdout
    empty = run(["assays", "upload", str(data / "empty.csv"), "--project", "p"], tmp_path)
    assert empty.returncode == 2 and "empty.csv" in empty.stderr
    shown = run(["assays", "show", "--project", "p", "--json"], tmp_path)
    rows = json.loads(shown.stdout)
    assert {r["compound_id"] for r in rows} == {"CHEMBL1", "CHEMBL2"}
    info = json.loads(run(["db", "info", "--json"], tmp_path).stdout)
    assert info["counts"]["measurements"] == 2 and info["schema_version"] >= 1


def test_simulate_reports_per_ligand_failures_and_bad_files(tmp_path):
    lig = tmp_path / "ligs.smi"
    lig.write_text("OB(O)c1ccccc1 boronic\nnot_a_smiles broken\n")
    missing = run(["simulate", "--protein", str(tmp_path / "none.pdb"), "--ligands", str(lig),
                   "--out", str(tmp_path / "o")], tmp_path)
    assert missing.returncode == 2 and "none.pdb" in missing.stderr
    out = run(["simulate", "--protein", str(REPO / "data/tyk2/protein.pdb"), "--ligands", str(lig),
               "--reference-ligand", str(REPO / "data/tyk2/ligands.sdf"), "--out", str(tmp_path / "o"),
               "--json"], tmp_path)
    assert out.returncode == 1, out.stderr  # nothing simulated, but each ligand has its row
    rows = {r["compound_id"]: r for r in json.loads(out.stdout)}
    assert rows["boronic"]["status"] == "failed" and rows["boronic"]["reason_code"] == "unsupported_element"
    assert rows["broken"]["status"] == "failed" and rows["broken"]["reason_code"] == "unparsable_smiles"
    assert (tmp_path / "o" / "simulations.csv").is_file()


def test_report_on_missing_run_is_bad_input(tmp_path):
    out = run(["report", "latest", "--results-dir", str(tmp_path / "results")], tmp_path)
    assert out.returncode == 2 and "no finished run" in out.stderr
