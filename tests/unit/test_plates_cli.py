"""moltwin assays upload-plate / show / accept-plate / curves through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(args, tmp_path):
    env = {**os.environ, "MOLTWIN_HOME": str(tmp_path / "home"), "MOLTWIN_DB": str(tmp_path / "twin.db"),
           "PYTHONPATH": str(REPO)}
    env.pop("PREFECT_API_URL", None)
    return subprocess.run([sys.executable, "-m", "interfaces.cli", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_upload_plate_show_and_accept(tmp_path, testdata):
    plates = testdata / "plates"
    assert run(["db", "init"], tmp_path).returncode == 0  # only db init (or the demo) creates a store
    res = run(["assays", "upload-plate", str(plates / "plate96_failing_controls.csv"), "--project", "p",
               "--no-sync", "--json"], tmp_path)
    assert res.returncode == 1, res.stderr  # committed, but its plate failed QC
    assert json.loads(res.stdout)["failed_plates"] == ["PLT-0096-F"]
    up = run(["assays", "upload-plate", str(plates / "plate96_inactive.csv"), "--project", "p", "--no-sync"],
             tmp_path)
    assert up.returncode == 1 and "inact_01 (PLT-0096-I): inactive IC50 > 3e+04 nM" in up.stdout
    show = json.loads(run(["assays", "show", "--project", "p", "--json"], tmp_path).stdout)
    rows = {r["compound_id"]: r for r in show}
    assert rows["inact_01"]["p_qualifier"] == "<" and rows["inact_01"]["p_activity"] == 4.5229
    assert rows["inact_01"]["curve_classes"] == "inactive" and rows["ejm_31"]["p_qualifier"] == "="
    acc = run(["assays", "accept-plate", "PLT-0096-F", "--project", "p", "--no-sync", "--json"], tmp_path)
    assert acc.returncode == 0, acc.stderr
    assert len(json.loads(acc.stdout)["refits"]) == 4
    show = json.loads(run(["assays", "show", "--project", "p", "--json"], tmp_path).stdout)
    assert {r["compound_id"]: r["n_replicates"] for r in show}["ejm_31"] == 2
    grid = run(["assays", "upload-plate", str(plates / "plate384_grid.csv"), "--project", "p"], tmp_path)
    assert grid.returncode == 2 and "--plate-map" in grid.stderr
