"""Poses and RMSD traces read from simulation run folders (real Tyk2 pocket and ligands)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_poses import tyk2_ligands, write_run_dir  # noqa: E402

from ranking.poses import (LIGAND_RESIDUE, collect_poses, locate_run_dir,  # noqa: E402
                           pocket_heavy_atoms, read_pose, read_rmsd_traces)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("md")
    ligands = tyk2_ligands()
    ids = ["ejm_46", "jmc_23", "jmc_28"]
    paths = [write_run_dir(root / f"run{i}", ligands[c], seed=i) for i, c in enumerate(ids)]
    ranked = pd.DataFrame({
        "compound_id": ["ejm_31", *ids, "ejm_42"], "rank": [1, 2, 3, 4, 5],
        "sim_status": [None, "ok", "failed", "ok", "ok"],
        "frames_parquet": ["", str(paths[0].relative_to(root)), "", str(paths[2]),
                           "gone/frames.parquet"]})
    return root, ranked


def test_ligand_residue_matches_the_simulation_stage():
    from simulation.system import LIGAND_RESIDUE as SIMULATION_LIGAND

    assert LIGAND_RESIDUE == SIMULATION_LIGAND


def test_checkpoint_names_match_the_simulation_stage():
    from ranking import poses
    from simulation import md

    assert (poses.CHECKPOINT_FILE, poses.CHECKPOINT_META) == (md.CHECKPOINT_FILE, md.CHECKPOINT_META)


def test_pocket_keeps_heavy_protein_atoms_only(runs):
    root, _ = runs
    text = (root / "run0" / "complex_start.pdb").read_text()
    pocket = pocket_heavy_atoms(text)
    lines = [line for line in pocket.splitlines() if line.startswith(("ATOM", "HETATM"))]
    assert lines and all(line[17:20] != "LIG" for line in lines)
    assert all(line[76:78].strip() != "H" for line in lines)
    assert any(line[17:20] == "LIG" for line in text.splitlines())
    assert 0.3 < len(lines) / sum(1 for x in text.splitlines() if x.startswith("ATOM")) < 0.7
    # Residues touching the ligand are flagged in the B-factor column, the rest are not.
    flags = {line[17:27]: float(line[60:66]) for line in lines}
    assert 0 < sum(flags.values()) < len(flags)
    lig = np.array([[float(x[30:38]), float(x[38:46]), float(x[46:54])]
                    for x in text.splitlines() if x[17:20] == "LIG" and x[76:78].strip() != "H"])
    for line in lines:
        if flags[line[17:27]] == 1.0:
            continue
        xyz = np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])])
        assert np.linalg.norm(lig - xyz, axis=1).min() >= 4.5


def test_locate_run_dir_resolves_relative_paths(runs, monkeypatch):
    root, ranked = runs
    relative = ranked.loc[1, "frames_parquet"]
    assert locate_run_dir(relative) is None or Path.cwd() == root
    assert locate_run_dir(relative, [root]) == root / "run0"
    monkeypatch.chdir(root)
    assert locate_run_dir(relative) == Path(relative).parent
    for missing in ("", None, float("nan"), "gone/frames.parquet"):
        assert locate_run_dir(missing, [root]) is None


def test_collect_poses_in_rank_order_skipping_missing(runs):
    root, ranked = runs
    poses = collect_poses(ranked, top_n=5, search_roots=[root])
    assert [p.compound_id for p in poses] == ["ejm_46", "jmc_28"]
    assert collect_poses(ranked, top_n=1, search_roots=[root])[0].compound_id == "ejm_46"
    data = json.loads(poses[0].to_json())
    assert "M  END" in data["sdf"] and data["pdb"].startswith("ATOM")
    assert "<" not in poses[0].to_json()  # safe inside a <script> block


def test_read_pose_needs_both_files(runs, tmp_path):
    root, _ = runs
    assert read_pose(tmp_path, "x", 1) is None
    (tmp_path / "complex_start.pdb").write_text((root / "run0" / "complex_start.pdb").read_text())
    assert read_pose(tmp_path, "x", 1) is None
    (tmp_path / "ligand_pose.mol").write_text("not a mol block")
    assert read_pose(tmp_path, "x", 1) is None


def test_rmsd_traces(runs, tmp_path):
    root, ranked = runs
    traces = read_rmsd_traces(ranked, search_roots=[root])
    assert list(traces) == ["ejm_46", "jmc_28"]
    assert list(traces["ejm_46"].columns) == ["time_ps", "ligand_rmsd_A"]
    assert len(traces["ejm_46"]) == 25
    # A damaged frames file is skipped, not fatal.
    broken = tmp_path / "b"
    write_run_dir(broken, tyk2_ligands()["ejm_46"])
    (broken / "frames.parquet").write_bytes(b"not parquet")
    table = ranked.assign(frames_parquet=[*ranked["frames_parquet"][:1],
                                          str(broken / "frames.parquet"),
                                          *ranked["frames_parquet"][2:]])
    assert list(read_rmsd_traces(table, search_roots=[root])) == ["jmc_28"]
    assert os.path.exists(broken / "complex_start.pdb")


def test_end_pose_is_the_starting_model_at_the_last_checkpoint(tmp_path):
    from rdkit import Chem

    from _ranking_poses import write_end_checkpoint
    from ranking.poses import read_end_pose

    ligand = tyk2_ligands()["ejm_46"]
    run_dir = write_run_dir(tmp_path / "run", ligand).parent
    assert read_end_pose(run_dir, "ejm_46") is None  # no checkpoint: no end pose
    end_xyz = write_end_checkpoint(run_dir, (1.5, -0.5, 0.0), step=1250, timestep_fs=4.0)
    start, end = read_pose(run_dir, "ejm_46", 1), read_end_pose(run_dir, "ejm_46", 1)
    assert end is not None and end.time_ps == pytest.approx(5.0) and start.time_ps == 0.0
    moved = Chem.MolFromMolBlock(end.ligand_molblock, removeHs=False)
    assert moved.GetNumAtoms() == ligand.GetNumAtoms()
    shift = moved.GetConformer().GetPositions() - ligand.GetConformer().GetPositions()
    assert np.allclose(shift, [1.5, -0.5, 0.0], atol=2e-3)
    assert np.allclose(moved.GetConformer().GetPositions(), end_xyz, atol=2e-3)
    assert end.pocket_pdb.splitlines()[0][:54] == start.pocket_pdb.splitlines()[0][:54]  # the pocket stayed
    assert json.loads(end.to_json())["sdf"] == end.ligand_molblock


def test_end_pose_refuses_a_checkpoint_that_does_not_line_up(tmp_path):
    from ranking.poses import read_end_pose

    run_dir = write_run_dir(tmp_path / "run", tyk2_ligands()["ejm_46"]).parent
    np.savez(run_dir / "checkpoint.npz", positions=np.zeros((5, 3)))  # fewer atoms than the model
    (run_dir / "checkpoint.json").write_text('{"step": 10, "timestep_fs": 4.0}')
    assert read_end_pose(run_dir, "ejm_46") is None
    (run_dir / "checkpoint.npz").write_bytes(b"not a numpy file")
    assert read_end_pose(run_dir, "ejm_46") is None
