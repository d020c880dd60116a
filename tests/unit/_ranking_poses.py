"""Simulation run folders for report tests, built from the real Tyk2 structures without MD.

Each folder looks like one written by ``simulation.run.simulate_ligand``:
``complex_start.pdb`` (pocket residues within 6 Å of the ligand, from ``data/tyk2/protein.pdb``,
followed by the ligand as residue ``LIG``), ``ligand_pose.mol`` (the crystal-frame ligand of
``data/tyk2/ligands.sdf``) and ``frames.parquet``. The frames are stand-ins, not MD output:
a fixed smooth RMSD curve per compound, so the trace plot has something to draw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"


def tyk2_ligands() -> dict[str, Chem.Mol]:
    """Posed Tyk2 ligands (with hydrogens) by name."""
    return {m.GetProp("_Name"): m for m in Chem.SDMolSupplier(str(DATA / "ligands.sdf"),
                                                             removeHs=False)}


def _pocket_lines(ligand_xyz: np.ndarray, radius: float = 6.0) -> list[str]:
    lines = [line for line in (DATA / "protein.pdb").read_text().splitlines()
             if line.startswith(("ATOM", "HETATM"))]
    xyz = np.array([[float(line[30:38]), float(line[38:46]), float(line[46:54])]
                    for line in lines])
    near = (np.linalg.norm(xyz[:, None, :] - ligand_xyz[None, :, :], axis=2) < radius).any(axis=1)
    residues = {(line[21], line[22:27]) for line, n in zip(lines, near) if n}
    return [line for line in lines if (line[21], line[22:27]) in residues]


def write_run_dir(run_dir: Path, ligand: Chem.Mol, seed: int = 0) -> Path:
    """Write one simulation folder; returns the path of its ``frames.parquet``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    Chem.MolToMolFile(ligand, str(run_dir / "ligand_pose.mol"))
    ligand_pdb = Chem.Mol(ligand)
    for atom in ligand_pdb.GetAtoms():
        info = Chem.AtomPDBResidueInfo(f" {atom.GetSymbol():<3}"[:4], residueName="LIG",
                                       residueNumber=1, chainId="Z", isHeteroAtom=True)
        atom.SetMonomerInfo(info)
    lig_lines = [line for line in Chem.MolToPDBBlock(ligand_pdb).splitlines()
                 if line.startswith("HETATM")]
    pocket = _pocket_lines(ligand.GetConformer().GetPositions())
    (run_dir / "complex_start.pdb").write_text("\n".join(pocket + ["TER"] + lig_lines + ["END"])
                                               + "\n")
    time_ps = np.arange(1, 26) * 0.2
    rmsd = 0.5 + 0.3 * (1 - np.exp(-time_ps)) + 0.05 * np.sin(time_ps * (3 + seed))
    frames = pd.DataFrame({"step": np.arange(1, 26) * 50, "time_ps": time_ps,
                           "ligand_rmsd_A": rmsd})
    path = run_dir / "frames.parquet"
    frames.to_parquet(path, index=False)
    return path


def add_poses(simulations: pd.DataFrame, root: Path, with_files: int = 3) -> pd.DataFrame:
    """Give the first ``with_files`` ok simulations a run folder under ``root``.

    The others keep a ``frames_parquet`` pointing to a folder that does not exist,
    as after a cache clean-up. Paths are stored relative to ``root``.
    """
    ligands = tyk2_ligands()
    out = simulations.copy()
    out["frames_parquet"] = ""
    ok = out.index[out["sim_status"] == "ok"]
    for i, idx in enumerate(ok):
        compound_id = out.at[idx, "compound_id"]
        relative = Path("md") / f"run{i:02d}" / "frames.parquet"
        if i < with_files:
            write_run_dir(root / relative.parent, ligands[compound_id], seed=i)
        out.at[idx, "frames_parquet"] = str(relative)
    return out


def write_end_checkpoint(run_dir: Path, ligand_shift_A: tuple[float, float, float] = (1.5, 0.0, 0.0),
                         step: int = 1250, timestep_fs: float = 4.0) -> np.ndarray:
    """A stand-in for the run's last checkpoint: the starting model with the ligand moved.

    ``checkpoint.npz`` holds positions in nm in the order of ``complex_start.pdb`` (as
    ``simulation.md`` writes them); returns the ligand's end coordinates in Å.
    """
    lines = [line for line in (run_dir / "complex_start.pdb").read_text().splitlines()
             if line.startswith(("ATOM", "HETATM"))]
    xyz = np.array([[float(line[30:38]), float(line[38:46]), float(line[46:54])] for line in lines])
    is_ligand = np.array([line[17:20].strip() == "LIG" for line in lines])
    xyz[is_ligand] += np.asarray(ligand_shift_A)
    np.savez(run_dir / "checkpoint.npz", positions=xyz / 10.0, velocities=np.zeros_like(xyz),
             box=np.eye(3) * 10.0, parameter_names=np.array([], dtype=str), parameter_values=np.array([]))
    (run_dir / "checkpoint.json").write_text(f'{{"step": {step}, "timestep_fs": {timestep_fs}}}')
    return xyz[is_ligand]


def store_simulation(store, project: str, compound_id: str, root: Path, *, with_end: bool = True) -> Path:
    """A finished simulation of ``compound_id`` in the twin store, its folder (from the real Tyk2
    pocket and ligand) under ``root``; with a last checkpoint (end pose) unless ``with_end`` is False."""
    import json
    from datetime import datetime, timezone

    frames = write_run_dir(root / f"md-{compound_id}", tyk2_ligands()[compound_id])
    if with_end:
        write_end_checkpoint(frames.parent)
    record = {"compound_id": compound_id, "frames_parquet": str(frames), "rmsd_mean_A": 0.7, "rmsd_max_A": 0.9,
              "pose_method": "reference"}
    store.insert_rows("simulations", [{
        "project": project, "compound_id": compound_id, "run_id": None, "input_hash": "0" * 64, "status": "ok",
        "reason_code": "", "message": "", "platform": "CPU", "mmgbsa_kcal_mol": -41.2, "mmgbsa_sem_kcal_mol": 1.3,
        "frac_frames_within_2a": 0.96, "ns_simulated": 0.005, "record_json": json.dumps(record),
        "created_at": datetime(2026, 1, 5, tzinfo=timezone.utc)}])
    return frames.parent
