"""Does the stability measure tell a right pose from a wrong one? Native JACS poses vs decoys, ROC AUC.

Each ligand of a JACS target (openmmforcefields' ``perses_jacs_systems``,
published poses) is simulated by the stage's own ``run_md`` (pocket, restraints,
minimization, restrained equilibration, production, per-frame ligand RMSD to the
input pose, contacts and MM/GBSA) in its published pose and in three
deliberately wrong ones:

* **flipped**: turned 180° about the ligand's second principal axis through its
  centroid (its two ends swap);
* **shifted**: moved 3 Å, along the one of 26 directions that puts the fewest
  protein heavy atoms within 2.5 Å of the ligand (the most plausible shift, not a
  clash that the pose checks would reject anyway);
* **rotated**: turned 90° about the one of 12 random axes with the fewest such
  close contacts.

The pocket is cut around the pose being simulated, as the stage does. For every
candidate measure of :func:`simulation.analyse.stability_measures` (oriented so
that higher = more stable): ROC AUC of native (positive) vs decoys, and the
threshold maximizing Youden's J (in-sample: one benchmark, say so) with the
native pass rate and decoy rejection at it. The gate in
``simulation/settings.py`` takes its threshold from this table.

    nice -n 10 .venv/bin/python bench/pose_stability.py --target tyk2 --limit 8
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results"
from jacs_systems import TARGETS, jacs_dir  # noqa: E402  (bench/ is the script folder)
from physics_protocols import spread_order  # noqa: E402

CLASH_ANGSTROM = 2.5
SHIFT_ANGSTROM = 3.0


def _rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    a = math.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(a) * k + (1 - math.cos(a)) * k @ k


def _close_contacts(xyz_A: np.ndarray, tree) -> int:
    return int(sum(len(h) for h in tree.query_ball_point(xyz_A, CLASH_ANGSTROM)))


def decoys(xyz_A: np.ndarray, heavy: np.ndarray, protein_heavy_A: np.ndarray, seed: int = 0) -> dict:
    """Wrong poses of one ligand (all atoms, Å): flipped, shifted 3 Å, rotated 90°."""
    from scipy.spatial import cKDTree

    tree = cKDTree(protein_heavy_A)
    centre = xyz_A[heavy].mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov((xyz_A[heavy] - centre).T))
    out = {"flipped": (xyz_A - centre) @ _rotation(vecs[:, 1], 180.0).T + centre}
    directions = [np.array(d, float) for d in np.ndindex(3, 3, 3) if d != (1, 1, 1)]
    shifts = [xyz_A + SHIFT_ANGSTROM * (d - 1) / np.linalg.norm(d - 1) for d in directions]
    out["shifted"] = min(shifts, key=lambda x: _close_contacts(x[heavy], tree))
    rng = np.random.default_rng(seed)
    turns = [(xyz_A - centre) @ _rotation(rng.normal(size=3), 90.0).T + centre for _ in range(12)]
    out["rotated"] = min(turns, key=lambda x: _close_contacts(x[heavy], tree))
    return out


def simulate_pose(protein, ligand_params, xyz_A: np.ndarray, settings, platform, out_dir: Path) -> dict:
    from simulation.analyse import stability_measures
    from simulation.md import run_md
    from simulation.pocket import build_pocket
    from simulation.system import build_complex_systems

    xyz_nm = xyz_A / 10.0
    pocket = build_pocket(protein, xyz_nm, radius_angstrom=settings.pocket_radius_angstrom,
                          flexible_radius_angstrom=settings.flexible_radius_angstrom)
    systems = build_complex_systems(pocket, ligand_params, xyz_nm,
                                    restraint_k_kj_mol_nm2=settings.restraint_k_kj_mol_nm2)
    result = run_md(systems, settings, platform, out_dir)
    n_heavy = int(sum(1 for i in systems.ligand_atoms
                      if list(systems.topology.atoms())[i].element.symbol != "H"))
    return stability_measures(result.frames, n_ligand_heavy_atoms=n_heavy)


def _protocol(settings) -> str:
    return (f"{settings.minimize_max_iterations} L-BFGS steps"
            f"{' + convergence' if settings.minimize_until_converged else ''}, "
            f"{settings.equilibration_steps * settings.timestep_fs / 1000:g} ps restrained, "
            f"{settings.production_ps:g} ps production x {settings.md_replicas}, "
            f"frames scored with {settings.scoring_gb_model}")


def auc_table(table: pd.DataFrame) -> pd.DataFrame:
    """ROC AUC native vs decoy per measure (higher = more stable) and the Youden threshold."""
    from sklearn.metrics import roc_auc_score, roc_curve

    from simulation.analyse import STABILITY_HIGHER_IS_STABLE

    ok = table.dropna(subset=["pose"])
    y = (ok["pose"] == "native").to_numpy(int)
    rows = []
    for measure, higher in STABILITY_HIGHER_IS_STABLE.items():
        if measure not in ok:
            continue
        values = ok[measure].to_numpy(float)
        keep = np.isfinite(values)
        if keep.sum() < 4 or len(set(y[keep])) < 2:
            continue
        score = values[keep] if higher else -values[keep]
        auc = roc_auc_score(y[keep], score)
        fpr, tpr, thr = roc_curve(y[keep], score)
        best = int(np.argmax(tpr - fpr))
        threshold = float(thr[best]) if higher else float(-thr[best])
        per_kind = {f"auc_vs_{k}": roc_auc_score(
            y[keep & ok["pose"].isin(["native", k]).to_numpy()],
            (values if higher else -values)[keep & ok["pose"].isin(["native", k]).to_numpy()])
            for k in ("flipped", "shifted", "rotated") if (ok["pose"] == k).any()}
        native, decoy = values[keep][y[keep] == 1], values[keep][y[keep] == 0]
        margin = ((native.min() + decoy.max()) / 2 if higher else (native.max() + decoy.min()) / 2)
        rows.append({"measure": measure, "stable_if": ">=" if higher else "<=", "auc": auc, **per_kind,
                     "margin_threshold": float(margin),
                     "threshold": threshold, "native_pass": float(tpr[best]),
                     "decoy_reject": float(1 - fpr[best])})
    return pd.DataFrame(rows).sort_values("auc", ascending=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="tyk2", choices=list(TARGETS))
    parser.add_argument("--limit", type=int, default=None, help="N ligands spread over the ΔG range")
    parser.add_argument("--production-steps", type=int, default=None,
                        help="production steps (default: the stage's default)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/moltwin_pose_stability"))
    parser.add_argument("--tag", default="")
    parser.add_argument("--summarize", type=Path, default=None, help="only summarize a per-pose CSV")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    stem = f"pose_stability_{args.target}{args.tag}"
    tic = time.perf_counter()
    from simulation.settings import SimulationSettings

    settings = SimulationSettings(platform="CPU")
    if args.production_steps:
        settings = settings.model_copy(update={"production_steps": args.production_steps})
    if args.summarize is not None:
        table = pd.read_csv(args.summarize)
    else:
        table = run(args.target, args.limit, settings, args.work_dir, RESULTS / f"{stem}_partial.csv")
        table.to_csv(RESULTS / f"{stem}.csv", index=False)
    aucs = auc_table(table)
    aucs.to_csv(RESULTS / f"{stem}_auc.csv", index=False)
    n_lig = table["ligand"].nunique()
    protocol = (", ".join(sorted(set(table["protocol"].dropna()))) if "protocol" in table
                else "protocol not recorded in the CSV")
    print(f"\n{args.target}: {n_lig} ligands x (native + {', '.join(sorted(set(table['pose']) - {'native'}))}), "
          f"{len(table)} runs ({int(table['error'].notna().sum()) if 'error' in table else 0} failed); "
          f"{protocol}; {(time.perf_counter() - tic) / 60:.1f} min wall. Threshold = Youden's J, in-sample; "
          f"margin = midway between the worst native and the best decoy.")
    print(aucs.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


def run(target: str, limit: int | None, settings, work: Path, partial_csv: Path) -> pd.DataFrame:
    from rdkit import Chem

    from simulation.ligand import parametrize_ligand
    from simulation.platform import select_platform
    from simulation.protein import prepare_protein

    pdb, sdf = TARGETS[target]
    platform = select_platform("CPU")
    protein = prepare_protein(jacs_dir() / target / pdb, cache_dir=work / "prepared")
    protein_heavy_A = protein.heavy_atom_positions_nm() * 10.0
    ligands = list(Chem.SDMolSupplier(str(jacs_dir() / target / sdf), removeHs=False))
    ligands = spread_order(ligands)[:limit] if limit else spread_order(ligands)
    rows = []
    for mol in ligands:
        name = mol.GetProp("_Name")
        xyz = mol.GetConformer().GetPositions()
        heavy = np.array([a.GetAtomicNum() > 1 for a in mol.GetAtoms()])
        try:
            params = parametrize_ligand(mol)
        except Exception as exc:
            rows.append({"ligand": name, "pose": "native", "error": f"{type(exc).__name__}: {exc}"})
            continue
        poses = {"native": xyz, **decoys(xyz, heavy, protein_heavy_A)}
        for kind, pose in poses.items():
            t0 = time.process_time()
            row = {"ligand": name, "pose": kind, "protocol": _protocol(settings),
                   "start_rmsd_A": float(np.sqrt(((pose[heavy] - xyz[heavy]) ** 2).sum(1).mean()))}
            try:
                row.update(simulate_pose(protein, params, pose, settings, platform,
                                         work / target / name / kind))
            except Exception as exc:  # a failed run is a row, not the end of the bench
                row["error"] = f"{type(exc).__name__}: {exc}"
            row["cpu_s"] = time.process_time() - t0
            rows.append(row)
            pd.DataFrame(rows).to_csv(partial_csv, index=False)
            print(f"  {name} {kind}: rmsd_mean {row.get('rmsd_mean_A', math.nan):.2f} "
                  f"contacts_kept {row.get('contacts_retained', math.nan):.2f} "
                  f"({row['cpu_s']:.0f} CPU s) {row.get('error', '')}", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    raise SystemExit(main())
