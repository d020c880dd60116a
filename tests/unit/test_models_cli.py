"""``moltwin models`` as a user runs it: real subprocesses, a temporary twin store and registry."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from chem.models.example_series import load_freewilson_series
from chem.models.registry import list_models
from lab_sync.store import open_store

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
HEADER = "compound_id,smiles,assay_id,endpoint,qualifier,value,units,replicate,test_date,operator\n"


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MOLTWIN_HOME": str(tmp_path / "home"), "MOLTWIN_DB": str(tmp_path / "twin.db")}
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=900)  # 6 min at load 40 on 2 shared cores


def test_train_on_three_measurements_exits_2_and_registers_nothing(tmp_path):
    rows = ["t1,CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1,A1,IC50,=,120,nM,1,2024-01-02,me",
            "t2,O=C(CO)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1,A1,IC50,=,260,nM,1,2024-01-02,me",
            "t3,N#CCC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1,A1,IC50,=,35,nM,1,2024-01-02,me"]
    csv = tmp_path / "three.csv"
    csv.write_text(HEADER + "\n".join(rows) + "\n")
    open_store(str(tmp_path / "twin.db"))  # `moltwin db init`
    upload = run(["assays", "upload", str(csv), "--project", "tiny"], tmp_path)
    assert upload.returncode == 0, upload.stdout + upload.stderr
    out = run(["models", "train", "--project", "tiny"], tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "3 usable, at least 8 needed" in out.stderr
    assert "Traceback" not in out.stderr
    assert list_models(tmp_path / "home" / "models").empty
    assert open_store(str(tmp_path / "twin.db")).read_table("models").empty
    nobody = run(["models", "train", "--project", "nobody"], tmp_path)
    assert nobody.returncode == 2 and "no measurements" in nobody.stderr


@pytest.mark.slow  # nested CV over three kinds with 10 repeats in a subprocess


def test_evaluate_smoke_on_a_small_csv(tmp_path):
    series = load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                    DATA / "chembl_freewilson/CHEMBL2321810_act.csv")
    small = series.sample(40, random_state=3).rename(columns={"p_activity": "pIC50"})
    small.loc[small.index[0], "pIC50"] = None  # a blank cell is dropped, not a crash
    small.loc[small.index[1], "smiles"] = "C1CC(N"
    small[["compound_id", "smiles", "pIC50"]].to_csv(tmp_path / "small.csv", index=False)
    out = run(["models", "evaluate", "--data", str(tmp_path / "small.csv"), "--target-col", "pIC50",
               "--id-col", "compound_id", "--split", "random", "--core",
               "O=S(=O)([*:1])c1cc([*:2])c(O[*:3])c([*:4])c1", "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    rows = pd.DataFrame(json.loads(out.stdout))
    assert set(rows["model_kind"]) == {"gaussian_process", "random_forest", "knn", "selected",
                                       "nearest_neighbor", "mean_baseline", "free_wilson"}
    # Progress on stderr through moltwin.progress: one counted item per evaluated kind.
    assert re.search(r"^moltwin models evaluate \[\d+:\d\d\] evaluate 4/7 selected: RMSE \d", out.stderr, re.M), \
        out.stderr
    assert rows.set_index("model_kind").loc["free_wilson", "fraction_core_matched"] > 0.9
    assert (rows["n_test"] == 8).all() and rows["rmse"].notna().all()
    missing = run(["models", "evaluate", "--data", str(tmp_path / "small.csv"), "--target-col", "pKi"],
                  tmp_path)
    assert missing.returncode == 2 and "column 'pKi' not found" in missing.stderr
