"""Posing benchmark: re-pose JACS ligands from the series' reference ligand, RMSD to the published pose.

For each target of openmmforcefields' ``perses_jacs_systems`` (Wang et al.,
JACS 2015, the poses FEP+ used) the first ligand of the SDF is the series'
reference: every other ligand is posed from it alone, from its SMILES (charges
and stereo as published), and compared with its published pose by the
symmetry-aware heavy-atom RMSD without any fitting (same protein frame).
Ways of posing, side by side (the last two with ``--compare``):

* ``pipeline``: :func:`simulation.placement.place_ligand` as a screen runs it
  (``pose_method=auto``: MCS with the embedding chosen by Vina score after local
  optimization, PoseBusters checks, Vina docking when the MCS pose fails);
* ``mcs_clash``: MCS, embedding with the fewest close contacts (no Vina);
* ``mcs_farthest``: MCS, the embedding farthest from the protein (the rule
  before this benchmark existed).

Target: ≥ 80 % of ligands within 2 Å. Writes ``bench/results/posing.csv`` and
prints the table (saved as ``bench/results/posing.txt`` by the caller).

    nice -n 10 .venv/bin/python bench/posing.py                 # all 8 JACS targets
    nice -n 10 .venv/bin/python bench/posing.py --targets tyk2 --limit 8
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results"
from jacs_systems import TARGETS, jacs_dir  # noqa: E402  (bench/ is the script folder)


def heavy_rmsd(posed, published) -> float:
    """Symmetry-aware heavy-atom RMSD (Å) in place, without superposition."""
    from rdkit import Chem
    from rdkit.Chem import rdMolAlign

    return float(rdMolAlign.CalcRMS(Chem.RemoveHs(posed), Chem.RemoveHs(published)))


def pose_target(name: str, work: Path, limit: int | None, compare: bool = False) -> list[dict]:
    from rdkit import Chem
    from scipy.spatial import cKDTree

    from moltwin.errors import SimulationError
    from simulation.placement import place_ligand
    from simulation.pose import perceived_smiles, pose_from_reference
    from simulation.protein import prepare_protein
    from simulation.settings import SimulationSettings

    pdb, sdf = TARGETS[name]
    ligands = [m for m in Chem.SDMolSupplier(str(jacs_dir() / name / sdf), removeHs=False)]
    reference, others = ligands[0], ligands[1:]
    others = others[:limit] if limit else others
    ref_path = work / f"{name}_reference.sdf"
    with Chem.SDWriter(str(ref_path)) as writer:
        writer.write(reference)
    protein = prepare_protein(jacs_dir() / name / pdb, cache_dir=work / "prepared")
    heavy = protein.heavy_atom_positions_nm() * 10.0
    tree = cKDTree(heavy)
    settings = SimulationSettings(ligand_protonation="keep")  # published charges as given

    def farthest(mol):
        xyz = mol.GetConformer().GetPositions()[[a.GetIdx() for a in mol.GetAtoms()
                                                 if a.GetAtomicNum() > 1]]
        return -float(tree.query(xyz)[0].min())

    rows = []
    for mol in others:
        smiles = perceived_smiles(mol)
        row = {"target": name, "ligand": mol.GetProp("_Name"), "reference": reference.GetProp("_Name"),
               "heavy_atoms": mol.GetNumHeavyAtoms()}
        tic = time.perf_counter()
        try:
            placed = place_ligand(smiles, settings, protein.path, heavy,
                                  reference_ligands_sdf=ref_path)
            row.update(pipeline_method=placed.method, pipeline_rmsd_A=heavy_rmsd(placed.mol, mol),
                       pipeline_check=placed.check_status)
        except SimulationError as exc:
            row.update(pipeline_method="failed", pipeline_rmsd_A=np.nan, pipeline_check=exc.reason_code)
        row["pipeline_s"] = time.perf_counter() - tic
        for label, scorer in (("mcs_clash", None), ("mcs_farthest", farthest)) if compare else ():
            try:
                posed = pose_from_reference(smiles, [reference], protein_heavy_xyz_angstrom=heavy,
                                            seed=settings.seed, scorer=scorer)
                row[f"{label}_rmsd_A"] = heavy_rmsd(posed, mol)
            except SimulationError:
                row[f"{label}_rmsd_A"] = np.nan
        rows.append(row)
        others_text = (f", clash {row['mcs_clash_rmsd_A']:.2f}, farthest {row['mcs_farthest_rmsd_A']:.2f}"
                       if compare else "")
        print(f"  {name} {row['ligand']}: pipeline {row['pipeline_method']} "
              f"{row['pipeline_rmsd_A']:.2f} Å{others_text} ({row['pipeline_s']:.1f} s)",
              file=sys.stderr, flush=True)
    return rows


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for target, group in list(table.groupby("target", sort=False)) + [("all", table)]:
        row = {"target": target, "n": len(group)}
        for label in ("pipeline", "mcs_clash", "mcs_farthest"):
            if f"{label}_rmsd_A" not in group:
                continue
            rmsd = group[f"{label}_rmsd_A"]
            row[f"{label}_within_2A"] = f"{int((rmsd <= 2.0).sum())}/{len(group)}"
            row[f"{label}_within_2A_pct"] = 100.0 * float((rmsd <= 2.0).sum()) / len(group)
            row[f"{label}_median_A"] = float(rmsd.median())
        row["methods"] = ", ".join(f"{k} {v}" for k, v in group["pipeline_method"].value_counts().items())
        row["pipeline_s_per_ligand"] = float(group["pipeline_s"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--limit", type=int, default=None, help="first N ligands per target")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--compare", action="store_true",
                        help="also pose with the clash-count and farthest-embedding rules (slower)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="moltwin_posing_") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        tag = ("" if args.targets == list(TARGETS) else "_" + "_".join(args.targets)) + \
            (f"_first{args.limit}" if args.limit else "")
        rows: list[dict] = []
        for target in args.targets:  # the table is written after each target: a stopped run keeps them
            rows.extend(pose_target(target, work, args.limit, args.compare))
            pd.DataFrame(rows).to_csv(RESULTS / f"posing{tag}.csv", index=False)
    table = pd.DataFrame(rows)
    summary = summarize(table)
    print(f"\nRe-posing from the series reference, heavy-atom RMSD to the published pose "
          f"({(time.perf_counter() - tic) / 60:.1f} min; target >= 80 % within 2 A):")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
