"""Does the MD stage rank the 16 Tyk2 ligands? Correlations with experimental ΔG.

The Tyk2 set of Wang et al. (JACS 2015): 16 ligands in their published poses
(``data/tyk2/ligands.sdf``, experimental ΔG in the SD tag ``r_user_dG.exp``).
Each is simulated by ``simulation.run.simulate_ligand`` with the given pose
(implicit solvent, pocket model, short runs on a CPU; ``--whole-protein`` and
``--production-ps`` for longer GPU runs). Scores, all oriented so that lower
means "binds tighter", correlated with the experimental ΔG (Pearson R,
Spearman ρ, Kendall τ; positive = right direction):

* MM/GBSA (single trajectory, OBC2, kcal/mol),
* pose stability: mean ligand RMSD to the start pose (Å),
* the trivial baseline: minus the heavy-atom count,
* the published FEP+ figure for Tyk2 (Pearson R 0.93; Wang et al. 2015 set,
  Schrödinger FEP+ 2021.4 re-run), quoted, not recomputed.

Writes ``bench/results/jacs_tyk2_<platform>[_quick].csv`` (per ligand),
``..._summary.csv`` and ``....md`` (the table, with the platform named).
PoseBusters runs in ``warn`` mode here: one published pose fails its checks
(jmc_30 has a 1.47 Å nitrile C≡N bond) and is simulated anyway, flagged in
the table.

    .venv/bin/python bench/jacs_tyk2.py --quick     # 4 ligands, 1 ps each
    .venv/bin/python bench/jacs_tyk2.py             # 16 ligands, 5 ps each
    .venv/bin/python bench/jacs_tyk2.py --production-ps 20   # writes ..._cpu_20ps.*
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO / "data" / "tyk2"
RESULTS = REPO / "bench" / "results"
FEP_PLUS_R = 0.93
SCORES = {"mmgbsa_kcal_mol": "MM/GBSA (OBC2)", "rmsd_mean_A": "pose stability (mean RMSD)",
          "minus_heavy_atoms": "baseline: -heavy atoms"}


def correlations(score: np.ndarray, dg: np.ndarray) -> dict:
    """Pearson, Spearman and Kendall of a score with experimental ΔG (NaN rows dropped)."""
    from scipy import stats

    ok = np.isfinite(score) & np.isfinite(dg)
    if ok.sum() < 3 or np.ptp(score[ok]) == 0:
        return {"n": int(ok.sum()), "pearson_r": math.nan, "spearman_rho": math.nan,
                "kendall_tau": math.nan}
    return {"n": int(ok.sum()), "pearson_r": float(stats.pearsonr(score[ok], dg[ok])[0]),
            "spearman_rho": float(stats.spearmanr(score[ok], dg[ok])[0]),
            "kendall_tau": float(stats.kendalltau(score[ok], dg[ok])[0])}


def simulate_all(ligands: list, settings, work: Path) -> pd.DataFrame:
    from rdkit import Chem

    from simulation.parallel import simulate_batch
    from simulation.run import SimulationRequest

    poses = work / "poses"
    poses.mkdir(parents=True, exist_ok=True)
    requests, experimental = [], []
    for mol in ligands:
        name = mol.GetProp("_Name")
        path = poses / f"{name}.sdf"
        with Chem.SDWriter(str(path)) as writer:
            writer.write(mol)
        requests.append(SimulationRequest(name, Chem.MolToSmiles(Chem.RemoveHs(mol)),
                                          DATA / "protein.pdb", pose_sdf=path))
        experimental.append({"compound_id": name, "dg_exp_kcal_mol": float(mol.GetProp("r_user_dG.exp")),
                             "heavy_atoms": mol.GetNumHeavyAtoms()})

    def progress(record):
        print(f"  {record.compound_id}: {record.status} MM/GBSA {record.mmgbsa_kcal_mol:.1f} "
              f"RMSD {record.rmsd_mean_A:.2f} ({record.wall_s:.0f} s)", file=sys.stderr, flush=True)

    records = simulate_batch(requests, settings, work / "md", on_done=progress)
    table = pd.DataFrame(experimental).merge(pd.DataFrame([r.to_dict() for r in records]),
                                             on="compound_id")
    table["minus_heavy_atoms"] = -table["heavy_atoms"].astype(float)
    table["posebusters_flags"] = table["notes"].str.extract(r"PoseBusters checks failed: ([^(;]*)")[0] \
        .fillna("").str.strip()
    return table


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    dg = table["dg_exp_kcal_mol"].to_numpy(dtype=float)
    rows = [{"score": label, **correlations(table[column].to_numpy(dtype=float), dg)}
            for column, label in SCORES.items()]
    rows.append({"score": "FEP+ (published)", "n": 16, "pearson_r": FEP_PLUS_R,
                 "spearman_rho": math.nan, "kendall_tau": math.nan})
    return pd.DataFrame(rows)


def markdown(summary: pd.DataFrame, table: pd.DataFrame, meta: dict) -> str:
    def fmt(x):
        return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"

    lines = [f"# Tyk2 (JACS 2015 set): MD scores vs experimental ΔG", "",
             f"Platform: **{meta['platform']}**; {meta['mode']}; {meta['ps']:.1f} ps production per "
             f"ligand; {meta['n_ok']}/{meta['n']} simulated; {meta['date']}; wall {meta['wall_min']:.1f} min.",
             "", "Scores are oriented so that lower = tighter binding; positive correlations point the "
             "right way. FEP+ is the published figure (Pearson R), not recomputed here.", "",
             "| score | n | Pearson R | Spearman ρ | Kendall τ |", "|---|---|---|---|---|"]
    for row in summary.itertuples():
        lines.append(f"| {row.score} | {row.n} | {fmt(row.pearson_r)} | {fmt(row.spearman_rho)} | "
                     f"{fmt(row.kendall_tau)} |")
    lines += ["", "| ligand | ΔG exp | MM/GBSA ± SEM | RMSD mean (Å) | heavy atoms | status | PoseBusters |",
              "|---|---|---|---|---|---|---|"]
    for row in table.itertuples():
        lines.append(f"| {row.compound_id} | {row.dg_exp_kcal_mol:.2f} | {fmt(row.mmgbsa_kcal_mol)} ± "
                     f"{fmt(row.mmgbsa_sem_kcal_mol)} | {fmt(row.rmsd_mean_A)} | {row.heavy_atoms} | "
                     f"{row.status} {row.reason_code} | {row.posebusters_flags} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 ligands, 1 ps each")
    parser.add_argument("--limit", type=int, default=None, help="first N ligands")
    parser.add_argument("--production-ps", type=float, default=None, help="production length per ligand")
    parser.add_argument("--whole-protein", action="store_true", help="no pocket cut (GPU runs)")
    parser.add_argument("--platform", default="auto")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep runs here (reused when rerun)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from rdkit import Chem

    from simulation.platform import select_platform
    from simulation.settings import SimulationSettings

    ligands = list(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False))
    limit = 4 if args.quick and args.limit is None else args.limit
    if limit:  # spread over the affinity range rather than the file order
        ligands = sorted(ligands, key=lambda m: float(m.GetProp("r_user_dG.exp")))
        ligands = [ligands[int(i)] for i in np.linspace(0, len(ligands) - 1, limit)]
    base = SimulationSettings()
    ps = args.production_ps or (1.0 if args.quick else base.production_ps)
    steps = max(int(round(ps * 1000 / base.timestep_fs)), base.report_interval_steps)
    update = {"platform": args.platform, "production_steps": steps, "pose_check": "warn"}
    if args.whole_protein:
        update["pocket_radius_angstrom"] = None
    settings = SimulationSettings(**update)
    platform = select_platform(args.platform)
    tic = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="moltwin_tyk2_") as tmp:
        table = simulate_all(ligands, settings, args.work_dir or Path(tmp))
    wall_min = (time.perf_counter() - tic) / 60.0
    summary = summarize(table)
    tag = f"{platform.name.lower()}{'_quick' if args.quick else ''}"
    if args.whole_protein:
        tag += "_whole"
    if args.production_ps:  # a non-default length gets its own files
        tag += f"_{ps:g}ps"
    RESULTS.mkdir(parents=True, exist_ok=True)
    keep = ["compound_id", "dg_exp_kcal_mol", "heavy_atoms", "status", "reason_code", "mmgbsa_kcal_mol",
            "mmgbsa_sem_kcal_mol", "rmsd_mean_A", "frac_frames_within_2A", "contacts_mean", "n_frames",
            "ns_simulated", "ns_per_day", "platform", "charge_method", "posebusters_flags", "wall_s"]
    table[keep].to_csv(RESULTS / f"jacs_tyk2_{tag}.csv", index=False)
    summary.to_csv(RESULTS / f"jacs_tyk2_{tag}_summary.csv", index=False)
    meta = {"platform": f"OpenMM {platform.name}" + (f" {platform.properties}" if platform.properties else ""),
            "mode": "implicit OBC2, " + ("whole protein" if args.whole_protein else "8 Å pocket"),
            "ps": ps, "n": len(table), "n_ok": int((table["status"] == "ok").sum()),
            "date": dt.date.today().isoformat(), "wall_min": wall_min}
    (RESULTS / f"jacs_tyk2_{tag}.md").write_text(markdown(summary, table, meta))
    print(f"\nTyk2, {meta['n_ok']}/{meta['n']} ligands, {ps:g} ps each on {platform.name} "
          f"({wall_min:.1f} min):")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"written: {RESULTS / f'jacs_tyk2_{tag}.md'} (+ .csv, _summary.csv)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
