"""Simulated poses and MD traces for the report, read from the simulation run folders.

A simulation record carries ``frames_parquet``; its folder also holds
``complex_start.pdb`` (pocket model + ligand as written before MD) and
``ligand_pose.mol`` (the posed ligand with bond orders); ``checkpoint.npz`` holds the
positions at the last step written (the end of the run, once it finished). The report
embeds the pocket's heavy atoms and the ligand as text for the inline 3D viewer, and plots
the ligand RMSD over time from the frames table; the compound page shows the start and the
end of the run (:func:`read_end_pose`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

# Residue name of the ligand in complex_start.pdb (simulation.system.LIGAND_RESIDUE; not
# imported, because that would pull OpenMM into the report).
LIGAND_RESIDUE = "LIG"
POCKET_FILE = "complex_start.pdb"
LIGAND_FILE = "ligand_pose.mol"
# simulation.md.CHECKPOINT_FILE / CHECKPOINT_META (not imported, for the same reason).
CHECKPOINT_FILE = "checkpoint.npz"
CHECKPOINT_META = "checkpoint.json"


@dataclass(slots=True, frozen=True)
class PoseView:
    """One compound's simulated starting pose, ready to embed.

    Attributes
    ----------
    compound_id, rank
        The compound and its rank in this run.
    pocket_pdb
        ATOM/HETATM records of the pocket model, heavy atoms only, ligand removed.
    ligand_molblock
        The posed ligand (MDL mol block, hydrogens as simulated).
    run_dir
        Simulation folder the files came from.
    time_ps
        Simulation time of the frame (0 for the starting pose; the last step's for an end pose).
    """

    compound_id: str
    rank: int
    pocket_pdb: str
    ligand_molblock: str
    run_dir: str
    time_ps: float = 0.0

    def to_json(self) -> str:
        """JSON for a ``<script type="application/json">`` block (``<`` escaped)."""
        text = json.dumps({"pdb": self.pocket_pdb, "sdf": self.ligand_molblock})
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def locate_run_dir(frames_parquet: object, search_roots: Sequence[Path | str] = ()) -> Path | None:
    """The simulation folder of a record, or ``None`` when it cannot be found.

    ``frames_parquet`` may be absolute, relative to the working directory (as the
    screen stage records it), or relative to one of ``search_roots``.
    """
    if not isinstance(frames_parquet, str) or not frames_parquet.strip():
        return None
    path = Path(frames_parquet)
    candidates = [path] if path.is_absolute() else [path, *(Path(r) / path for r in search_roots)]
    for candidate in candidates:
        if candidate.parent.is_dir() and (candidate.parent / POCKET_FILE).is_file():
            return candidate.parent
    return None


def _xyz(line: str) -> tuple[float, float, float]:
    return float(line[30:38]), float(line[38:46]), float(line[46:54])


def pocket_heavy_atoms(pdb_text: str, ligand_residue: str = LIGAND_RESIDUE,
                       contact_angstrom: float = 4.5) -> str:
    """ATOM/HETATM lines of a PDB without hydrogens and without the ligand residue.

    Dropping hydrogens halves the embedded text; the viewer draws heavy atoms anyway.
    The B-factor column is rewritten as a flag the viewer styles by: 1.00 for residues
    with a heavy atom within ``contact_angstrom`` of the ligand's, else 0.00.
    """
    atoms, ligand = [], []
    for line in pdb_text.splitlines():
        if not line.startswith(("ATOM", "HETATM")) or len(line) < 54:
            continue
        element = line[76:78].strip() or line[12:16].strip()[:1]
        if element.upper() in {"H", "D"}:
            continue
        (ligand if line[17:20].strip() == ligand_residue else atoms).append(line)
    if not atoms:
        return ""
    protein = np.array([_xyz(line) for line in atoms])
    near = np.zeros(len(atoms), dtype=bool)
    if ligand:
        lig = np.array([_xyz(line) for line in ligand])
        distances = np.linalg.norm(protein[:, None, :] - lig[None, :, :], axis=2)
        near = (distances < contact_angstrom).any(axis=1)
    residue = [line[17:27] for line in atoms]  # name, chain, number, insertion code
    contact = {r for r, n in zip(residue, near) if n}
    lines = [f"{line[:60]}{1.0 if r in contact else 0.0:6.2f}{line[66:]}"
             for line, r in zip(atoms, residue)]
    return "\n".join(lines) + "\nEND\n"


def read_pose(run_dir: Path, compound_id: str, rank: int) -> PoseView | None:
    """The pose of one simulation folder, or ``None`` when a file is missing or empty."""
    pocket, ligand = run_dir / POCKET_FILE, run_dir / LIGAND_FILE
    if not (pocket.is_file() and ligand.is_file()):
        return None
    pdb = pocket_heavy_atoms(pocket.read_text(encoding="utf-8", errors="replace"))
    molblock = ligand.read_text(encoding="utf-8", errors="replace")
    if pdb.count("\n") < 2 or "M  END" not in molblock:
        return None
    return PoseView(str(compound_id), int(rank), pdb, molblock, str(run_dir))


def _with_coordinates(lines: list[str], xyz_A: np.ndarray) -> list[str]:
    return [f"{line[:30]}{x:8.3f}{y:8.3f}{z:8.3f}{line[54:]}" for line, (x, y, z) in zip(lines, xyz_A)]


def read_end_pose(run_dir: Path, compound_id: str, rank: int = 0) -> PoseView | None:
    """The pocket and ligand at the end of the run, from the last checkpoint's positions.

    The checkpoint holds the positions of every simulated atom in the order of
    ``complex_start.pdb`` (solute first; an explicit-solvent box's water follows and is
    ignored), so the end pose is the starting model with those coordinates. ``None`` when
    the folder has no checkpoint, or its atoms do not line up with the starting model.
    """
    from rdkit import Chem

    run_dir = Path(run_dir)
    pocket, ligand, state = run_dir / POCKET_FILE, run_dir / LIGAND_FILE, run_dir / CHECKPOINT_FILE
    if not (pocket.is_file() and ligand.is_file() and state.is_file()):
        return None
    try:
        with np.load(state) as data:
            xyz_A = np.asarray(data["positions"], dtype=float) * 10.0  # nm -> Å
        meta = json.loads((run_dir / CHECKPOINT_META).read_text())
        time_ps = float(meta["step"]) * float(meta["timestep_fs"]) / 1000.0
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged checkpoint: no end pose, the page shows the start
    lines = [line for line in pocket.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.startswith(("ATOM", "HETATM")) and len(line) >= 54]
    if not lines or xyz_A.ndim != 2 or len(xyz_A) < len(lines) or not np.isfinite(xyz_A[:len(lines)]).all():
        return None
    moved = _with_coordinates(lines, xyz_A[:len(lines)])
    ligand_xyz = np.array([_xyz(line) for line in moved if line[17:20].strip() == LIGAND_RESIDUE])
    mol = Chem.MolFromMolFile(str(ligand), removeHs=False, sanitize=False)
    if mol is None or mol.GetNumConformers() == 0 or mol.GetNumAtoms() != len(ligand_xyz):
        return None
    conformer = mol.GetConformer()
    for i, (x, y, z) in enumerate(ligand_xyz):
        conformer.SetAtomPosition(i, (float(x), float(y), float(z)))
    pdb = pocket_heavy_atoms("\n".join(moved))
    if pdb.count("\n") < 2:
        return None
    return PoseView(str(compound_id), int(rank), pdb, Chem.MolToMolBlock(mol, kekulize=False), str(run_dir),
                    time_ps)


def _simulated(ranked: pd.DataFrame) -> Iterable[dict]:
    if "frames_parquet" not in ranked.columns:
        return []
    ok = ranked["sim_status"] == "ok" if "sim_status" in ranked.columns \
        else ranked["frames_parquet"].notna()
    return ranked[ok].to_dict("records")


def collect_poses(ranked: pd.DataFrame, top_n: int = 5,
                  search_roots: Sequence[Path | str] = ()) -> list[PoseView]:
    """Poses of the best-ranked ``top_n`` compounds that have a successful simulation.

    Parameters
    ----------
    ranked
        Ranked table (sorted by ``rank``) with ``frames_parquet`` and ``sim_status``.
    top_n
        Most poses returned.
    search_roots
        Extra folders against which relative ``frames_parquet`` paths are resolved.

    Returns
    -------
    list of PoseView
        In rank order; compounds whose files cannot be found are skipped.
    """
    poses: list[PoseView] = []
    for row in _simulated(ranked):
        if len(poses) >= top_n:
            break
        run_dir = locate_run_dir(row.get("frames_parquet"), search_roots)
        pose = read_pose(run_dir, row["compound_id"], row.get("rank", 0)) if run_dir else None
        if pose is not None:
            poses.append(pose)
    return poses


def read_rmsd_traces(ranked: pd.DataFrame, max_compounds: int = 8,
                     search_roots: Sequence[Path | str] = ()) -> dict[str, pd.DataFrame]:
    """Ligand RMSD over time (``time_ps``, ``ligand_rmsd_A``) of the best-ranked simulations.

    Returns
    -------
    dict
        compound_id -> frames table, in rank order; unreadable frames files are skipped.
    """
    traces: dict[str, pd.DataFrame] = {}
    for row in _simulated(ranked):
        if len(traces) >= max_compounds:
            break
        run_dir = locate_run_dir(row.get("frames_parquet"), search_roots)
        path = run_dir / Path(str(row["frames_parquet"])).name if run_dir else None
        if path is None or not path.is_file():
            continue
        try:
            frames = pd.read_parquet(path, columns=["time_ps", "ligand_rmsd_A"])
        except (OSError, ValueError, KeyError):
            continue  # a damaged or foreign file: the trace is left out, the report goes on
        if len(frames):
            traces[str(row["compound_id"])] = frames
    return traces
