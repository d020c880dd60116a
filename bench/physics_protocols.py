"""Which end-point protocol ranks? MM/GBSA variants side by side on JACS targets vs experiment.

Every ligand of a target (openmmforcefields' ``perses_jacs_systems``: published
poses and experimental ΔG of Wang et al., JACS 2015) is put in the stage's own
model: prepared protein, 8 Å pocket with ACE/NME caps and restrained boundary,
GAFF2 + NAGL charges, native OBC2 for the dynamics. Then, affordably:

* **minimization**: 100 L-BFGS iterations (the former default) and, continuing
  from there, to convergence (OpenMM's 10 kJ/mol/nm); each minimized complex is *rescored*
  (single trajectory: E_complex − E_receptor − E_ligand) with every energy model:
  GB OBC2 (mbondi2) or GBn2 (mbondi3), solute dielectric 1 / 2 / 4, with and
  without 0.15 M salt (:mod:`simulation.gb_models`);
* **ligand strain**: the ligand's energy in its bound pose minus the ligand alone
  minimized in solvent from that pose (same energy model), added as a penalty;
* **short MD** (``--md-ps``; finalists only): from the converged minimum, 1 ps
  restrained equilibration, then production frames, each rescored; the mean
  over frames after equilibration detection (``--seeds`` replicas with
  different velocities give the seed-to-seed spread |ΔR|).

For each protocol: Pearson R, Spearman ρ and Kendall τ with experimental ΔG,
each with a bootstrap 95 % interval (2000 resamples of the ligands), the
heavy-atom-count baseline, and CPU seconds per ligand (process time of the
steps the protocol needs). Writes ``bench/results/physics_protocols_<target>.csv``
(per ligand) and ``..._summary.csv``; the printed table is what docs/simulation.md quotes.

    nice -n 10 .venv/bin/python bench/physics_protocols.py --target tyk2
    nice -n 10 .venv/bin/python bench/physics_protocols.py --target tyk2 --md-ps 5 --seeds 3
    nice -n 10 .venv/bin/python bench/physics_protocols.py --target ptp1b --only minconv_GBn2_e1_s0
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
ENERGY_MODELS = [("OBC2", 1.0, 0.0), ("GBn2", 1.0, 0.0), ("OBC2", 2.0, 0.0), ("GBn2", 2.0, 0.0),
                 ("OBC2", 4.0, 0.0), ("GBn2", 4.0, 0.0), ("OBC2", 1.0, 0.15), ("GBn2", 1.0, 0.15)]
MD_MODELS = [("OBC2", 1.0, 0.0), ("GBn2", 1.0, 0.0), ("GBn2", 1.0, 0.15)]
KJ_PER_KCAL = 4.184
N_BOOT = 2000


def model_name(model, eps, salt) -> str:
    return f"{model}_e{eps:g}_s{salt:g}"


# ---------------------------------------------------------------- statistics
def correlations(score: np.ndarray, dg: np.ndarray, seed: int = 0) -> dict:
    """Pearson/Spearman/Kendall of score vs ΔG with bootstrap 95 % intervals (NaN rows dropped)."""
    from scipy import stats

    ok = np.isfinite(score) & np.isfinite(dg)
    x, y = score[ok], dg[ok]
    out = {"n": int(ok.sum())}
    funcs = {"pearson": lambda a, b: stats.pearsonr(a, b)[0],
             "spearman": lambda a, b: stats.spearmanr(a, b)[0],
             "kendall": lambda a, b: stats.kendalltau(a, b)[0]}
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(x), len(x)) for _ in range(N_BOOT)] if len(x) >= 3 else []
    for name, f in funcs.items():
        if len(x) < 3 or np.ptp(x) == 0:
            out.update({name: math.nan, f"{name}_lo": math.nan, f"{name}_hi": math.nan})
            continue
        boot = [f(x[i], y[i]) for i in draws if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0]
        out[name] = float(f(x, y))
        out[f"{name}_lo"], out[f"{name}_hi"] = (float(v) for v in np.nanpercentile(boot, [2.5, 97.5]))
    return out


# ---------------------------------------------------------------- physics
class Complex:
    """One ligand in its pocket: systems, energy contexts per model, timing."""

    def __init__(self, protein, mol, platform):
        from simulation.ligand import parametrize_ligand
        from simulation.pocket import build_pocket
        from simulation.system import build_complex_systems

        tic = time.process_time()
        self.mol = mol
        xyz_nm = mol.GetConformer().GetPositions() / 10.0
        ligand = parametrize_ligand(mol)
        pocket = build_pocket(protein, xyz_nm, radius_angstrom=8.0)
        self.systems = build_complex_systems(pocket, ligand, xyz_nm)
        self.platform = platform
        self.cpu = {"prepare": time.process_time() - tic}
        self._contexts: dict = {}

    def _context(self, part: str, model) -> "openmm.Context":
        import openmm

        from simulation.gb_models import scoring_system
        from simulation.platform import create_context

        key = (part, model)
        if key not in self._contexts:
            s = self.systems
            system, topology = {"complex": (s.complex_system, s.topology),
                                "receptor": (s.receptor_system, None),
                                "ligand": (s.ligand_system, None)}[part]
            if topology is None:
                topology = _sub_topology(s, part)
            if tuple(model) == ("OBC2", 1.0, 0.0):  # the native force: same energy, faster kernel
                scoring = system                    # (tests/unit/test_simulation_gb_models.py)
            else:
                scoring = scoring_system(system, topology, model=model[0], solute_dielectric=model[1],
                                         salt_molar=model[2])
            self._contexts[key] = create_context(scoring, openmm.VerletIntegrator(0.001), self.platform)
        return self._contexts[key]

    def energy(self, part: str, model, xyz_nm: np.ndarray) -> float:
        import openmm.unit as unit

        ctx = self._context(part, model)
        ctx.setPositions(xyz_nm * unit.nanometer)
        return ctx.getState(getEnergy=True, groups={0}).getPotentialEnergy().value_in_unit(
            unit.kilojoule_per_mole) / KJ_PER_KCAL

    def binding(self, model, xyz_nm: np.ndarray) -> float:
        s = self.systems
        return (self.energy("complex", model, xyz_nm) - self.energy("receptor", model, xyz_nm[s.receptor_atoms])
                - self.energy("ligand", model, xyz_nm[s.ligand_atoms]))

    def strain(self, model, xyz_nm: np.ndarray) -> float:
        """Ligand energy in the pose minus the ligand minimized alone from it (same model), kcal/mol."""
        import openmm
        import openmm.unit as unit

        lig = xyz_nm[self.systems.ligand_atoms]
        bound = self.energy("ligand", model, lig)
        ctx = self._context("ligand", model)
        ctx.setPositions(lig * unit.nanometer)
        openmm.LocalEnergyMinimizer.minimize(ctx, 1.0, 0)
        relaxed = ctx.getState(getEnergy=True, groups={0}).getPotentialEnergy().value_in_unit(
            unit.kilojoule_per_mole) / KJ_PER_KCAL
        return bound - relaxed

    def minimize(self, max_iterations: int, start_nm: np.ndarray | None = None) -> np.ndarray:
        """Minimize the restrained complex (dynamics model: native OBC2) from ``start_nm``.

        ``max_iterations=0`` runs L-BFGS to convergence at OpenMM's default tolerance
        (10 kJ/mol/nm; 1 kJ/mol/nm changed the Tyk2 ejm_31 score by 0.15 kcal/mol at
        twice the cost).
        """
        import openmm
        import openmm.unit as unit

        from simulation.platform import create_context

        ctx = create_context(self.systems.complex_system, openmm.VerletIntegrator(0.001), self.platform)
        start = self.systems.positions_nm if start_nm is None else start_nm
        ctx.setPositions(start * unit.nanometer)
        openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, max_iterations)
        return ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)

    def md_frames(self, start_nm: np.ndarray, production_ps: float, seed: int,
                  equilibration_ps: float = 1.0, every_steps: int = 50) -> list[np.ndarray]:
        """Restrained equilibration then production (4 fs, HMR); positions every ``every_steps``."""
        import openmm
        import openmm.unit as unit

        from simulation.platform import create_context
        from simulation.system import add_positional_restraints

        system = openmm.XmlSerializer.clone(self.systems.complex_system)
        heavy = [a.index for a in self.systems.topology.atoms() if a.element.symbol != "H"]
        add_positional_restraints(system, heavy, start_nm, 1000.0, parameter="k_equil")
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1.0 / unit.picosecond,
                                                     4.0 * unit.femtosecond)
        integrator.setRandomNumberSeed(seed)
        ctx = create_context(system, integrator, self.platform)
        ctx.setPositions(start_nm * unit.nanometer)
        ctx.setVelocitiesToTemperature(300 * unit.kelvin, seed)
        integrator.step(int(equilibration_ps * 250))
        ctx.setParameter("k_equil", 0.0)
        frames = []
        for _ in range(max(1, int(production_ps * 250 / every_steps))):
            integrator.step(every_steps)
            frames.append(ctx.getState(getPositions=True).getPositions(asNumpy=True)
                          .value_in_unit(unit.nanometer))
        return frames


def _sub_topology(systems, part: str):
    import openmm.app as app
    import openmm.unit as unit

    keep = set(int(i) for i in (systems.receptor_atoms if part == "receptor" else systems.ligand_atoms))
    modeller = app.Modeller(systems.topology, systems.positions_nm * unit.nanometer)
    modeller.delete([a for a in systems.topology.atoms() if a.index not in keep])
    return modeller.topology


# ---------------------------------------------------------------- driver
def score_ligand(cx: Complex, md_ps: float, seeds: int, only: set | None,
                 md_start: str = "minconv") -> dict:
    from simulation.uncertainty import mean_and_standard_error

    row = {}
    xyz = None
    for label, iterations in (("min100", 100), ("minconv", 0)):
        wanted = [m for m in ENERGY_MODELS if only is None or any(
            f"{label}_{model_name(*m)}".startswith(o) for o in only)]
        if not wanted and only is not None and (label == "minconv" or not any(
                o.startswith("minconv") for o in only)):
            continue  # minconv continues from min100, so min100 runs whenever minconv does
        tic = time.process_time()
        xyz = cx.minimize(iterations, xyz)  # minconv continues from the 100-step minimum
        cx.cpu[label] = cx.cpu.get("min100", 0.0) + time.process_time() - tic
        if label == md_start:
            cx.minimized = xyz
        for model in wanted:
            tic = time.process_time()
            name = f"{label}_{model_name(*model)}"
            row[name] = cx.binding(model, xyz)
            cx.cpu[name] = cx.cpu[label] + time.process_time() - tic
            if label == "minconv" and model[1] == 1.0 and model[2] == 0.0:
                tic = time.process_time()
                row[f"{name}_strain"] = row[name] + cx.strain(model, xyz)
                cx.cpu[f"{name}_strain"] = cx.cpu[name] + time.process_time() - tic
    if md_ps > 0:
        start = getattr(cx, "minimized", None)  # the md_start minimum when it was computed,
        if start is None:                        # else the last minimum, else 100 steps
            start = xyz if xyz is not None else cx.minimize(100)
        for seed in range(seeds):
            tic = time.process_time()
            frames = cx.md_frames(start, md_ps, seed=2024 + seed)
            md_cpu = time.process_time() - tic
            for model in MD_MODELS:
                tic = time.process_time()
                values = np.array([cx.binding(model, f) for f in frames])
                stats = mean_and_standard_error(values)
                name = f"md{md_ps:g}ps{'' if md_start == 'minconv' else '_from_' + md_start}_{model_name(*model)}"
                row[f"{name}_seed{seed}"] = stats["mean"]
                row[f"{name}_seed{seed}_sem"] = stats["sem"]
                cx.cpu[f"{name}_seed{seed}"] = (cx.cpu.get(md_start, cx.cpu.get("min100", 0.0))
                                                + md_cpu + time.process_time() - tic)
    return row


def spread_order(ligands: list) -> list:
    """Ligands ordered so that every prefix spans the ΔG range (strongest, weakest, middle, ...).

    A study stopped early (the 2-core machine is slow) then still covers the range.
    """
    ranked = sorted(ligands, key=lambda m: float(m.GetProp("r_user_dG.exp")))
    order, seen = [], set()
    for level in range(1, 2 * len(ranked)):
        for i in np.linspace(0, len(ranked) - 1, level + 1).round().astype(int):
            if i not in seen:
                seen.add(i)
                order.append(ranked[i])
        if len(order) == len(ranked):
            break
    return order


def run_target(target: str, work: Path, md_ps: float, seeds: int, limit: int | None, skip: int,
               only: set | None, platform_name: str, partial_csv: Path | None = None,
               md_start: str = "minconv") -> pd.DataFrame:
    from rdkit import Chem

    from simulation.platform import select_platform
    from simulation.protein import prepare_protein

    pdb, sdf = TARGETS[target]
    platform = select_platform(platform_name)
    protein = prepare_protein(jacs_dir() / target / pdb, cache_dir=work / "prepared")
    ligands = list(Chem.SDMolSupplier(str(jacs_dir() / target / sdf), removeHs=False))
    ligands = spread_order(ligands)[skip:]
    ligands = ligands[:limit] if limit else ligands
    rows = []
    for mol in ligands:
        tic = time.perf_counter()
        row = {"target": target, "ligand": mol.GetProp("_Name"),
               "dg_exp_kcal_mol": float(mol.GetProp("r_user_dG.exp")),
               "minus_heavy_atoms": -float(mol.GetNumHeavyAtoms())}
        try:
            cx = Complex(protein, mol, platform)
            row.update(score_ligand(cx, md_ps, seeds, only, md_start))
            row.update({f"cpu_s_{k}": v + (cx.cpu["prepare"] if k != "prepare" else 0.0)
                        for k, v in cx.cpu.items()})
        except Exception as exc:  # one ligand failing must not sink the study; it is reported
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["wall_s"] = time.perf_counter() - tic
        rows.append(row)
        if partial_csv is not None:  # every finished ligand is on disk at once
            pd.DataFrame(rows).to_csv(partial_csv, index=False)
        print(f"  {target} {row['ligand']}: {row.get('error', '')} "
              f"minconv GBn2 {row.get('minconv_GBn2_e1_s0', math.nan):.1f} "
              f"({row['wall_s']:.0f} s)", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


STORED_DEFAULT = RESULTS / "jacs_tyk2_cpu.csv"  # the former default: 5 ps MD average, OBC2


def add_stored_default(table: pd.DataFrame) -> pd.DataFrame:
    """The former default's per-ligand MM/GBSA (``bench/jacs_tyk2.py``, 5 ps) on the same ligands."""
    if not STORED_DEFAULT.is_file() or table["target"].iloc[0] != "tyk2":
        return table
    stored = pd.read_csv(STORED_DEFAULT).set_index("compound_id")
    table = table.copy()
    table["stored_md5ps_OBC2_e1_s0"] = table["ligand"].map(stored["mmgbsa_kcal_mol"])
    table["cpu_s_stored_md5ps_OBC2_e1_s0"] = table["ligand"].map(stored["wall_s"])  # wall s, quiet VM
    return table


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    table = add_stored_default(table)
    dg = table["dg_exp_kcal_mol"].to_numpy(dtype=float)
    scores = [c for c in table.columns if c.startswith(("min100_", "minconv_", "md", "stored_"))
              and not c.endswith("_sem")]
    rows = []
    for column in scores + ["minus_heavy_atoms"]:
        stats = correlations(table[column].to_numpy(dtype=float), dg)
        cpu = table.get(f"cpu_s_{column}")
        rows.append({"protocol": column if column != "minus_heavy_atoms" else "baseline: -heavy atoms",
                     **stats, "cpu_s_per_ligand": float(cpu.mean()) if cpu is not None else 0.0})
    md = [c for c in scores if "_seed" in c]
    for base in sorted({c.rsplit("_seed", 1)[0] for c in md}):
        seeds = [c for c in md if c.startswith(base + "_seed")]
        if len(seeds) < 2:
            continue
        mean = table[seeds].mean(axis=1).to_numpy(dtype=float)
        stats = correlations(mean, dg)
        rs = [correlations(table[c].to_numpy(dtype=float), dg)["pearson"] for c in seeds]
        start = table.get("cpu_s_min100" if "_from_min100" in base else "cpu_s_minconv")
        start = float(start.mean()) if start is not None else 0.0  # the minimization is done once
        cpu = sum(float(table[f"cpu_s_{c}"].mean()) for c in seeds) - (len(seeds) - 1) * start
        rows.append({"protocol": f"{base}_mean_of_{len(seeds)}", **stats, "cpu_s_per_ligand": cpu,
                     "seed_delta_r": float(np.ptp(rs))})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="tyk2", choices=list(TARGETS))
    parser.add_argument("--md-ps", type=float, default=0.0, help="short MD per ligand (0: none)")
    parser.add_argument("--seeds", type=int, default=1, help="MD replicas with different velocities")
    parser.add_argument("--limit", type=int, default=None, help="N ligands spread over the ΔG range")
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N of that order "
                        "(slices of one target run in parallel processes; --summarize the joined CSVs)")
    parser.add_argument("--only", nargs="*", default=None, help="protocol names to run (prefix match)")
    parser.add_argument("--md-start", default="minconv", choices=["minconv", "min100"],
                        help="MD starts from the converged minimum or the 100-step one (the former default)")
    parser.add_argument("--md-models", nargs="*", default=None,
                        help="energy models scored on MD frames, e.g. GBn2_e1_s0 (default: all of MD_MODELS)")
    parser.add_argument("--platform", default="CPU")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/moltwin_protocols"))
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--summarize", type=Path, nargs="+", default=None,
                        help="only summarize per-ligand CSVs written earlier (partial runs, slices)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.md_models:
        MD_MODELS[:] = [m for m in MD_MODELS if model_name(*m) in args.md_models]
    tic = time.perf_counter()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"physics_protocols_{args.target}{args.tag}"
    if args.summarize is not None:
        table = pd.concat([pd.read_csv(p) for p in args.summarize], ignore_index=True)
    else:
        table = run_target(args.target, args.work_dir, args.md_ps, args.seeds, args.limit, args.skip,
                           set(args.only) if args.only else None, args.platform,
                           partial_csv=args.out_dir / f"{stem}_partial.csv", md_start=args.md_start)
    summary = summarize(table)
    table.to_csv(args.out_dir / f"{stem}.csv", index=False)
    summary.to_csv(args.out_dir / f"{stem}_summary.csv", index=False)
    n_ok = int(table.get("error", pd.Series(dtype=str)).isna().sum()) if "error" in table else len(table)
    print(f"\n{args.target}: {n_ok}/{len(table)} ligands, published poses, 8 A pocket, platform "
          f"{args.platform}, {(time.perf_counter() - tic) / 60:.1f} min wall. Scores: lower = tighter; "
          f"correlations with experimental dG, bootstrap 95 % CI [lo, hi] over ligands.")
    cols = ["protocol", "n", "pearson", "pearson_lo", "pearson_hi", "spearman", "spearman_lo",
            "spearman_hi", "kendall", "kendall_lo", "kendall_hi", "cpu_s_per_ligand"]
    if "seed_delta_r" in summary:
        cols.append("seed_delta_r")
    print(summary[cols].to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
