"""MD throughput on the Tyk2 complex: MolTwin's ``run_md`` against a bare OpenMM loop.

Three systems, all Tyk2 + ligand ejm_31 in its published pose: the implicit-
solvent pocket model (the CPU default), the implicit whole protein, and the
whole protein in a TIP3P box (explicit). For each, ns/day of

* ``moltwin``: ``simulation.md.run_md`` production, wall clock of the whole
  production loop (per-frame MM/GBSA scoring, RMSD, contacts, Parquet and
  checkpoints included), and
* ``bare``: the same System, integrator and timestep driven by a minimal
  ``integrator.step(n)`` loop with no reporters, in the same process,

and their ratio (target >= 0.9). Each is measured ``--repeats`` times, alternating,
and the best rate of each is kept: on a shared machine other jobs only ever slow a run down.
On a GPU platform it also runs N copies of
the pipeline at once in spawned processes (what ``simulation.parallel`` does)
and prints their aggregate ns/day next to one run alone.

    .venv/bin/python bench/md_throughput.py --quick      # seconds-long runs
    .venv/bin/python bench/md_throughput.py              # CPU: minutes; GPU: longer runs
    .venv/bin/python bench/md_throughput.py --concurrent 4
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO / "data" / "tyk2"
# Production steps per system: (CPU, GPU); --quick divides by 10 (CPU) or 5 (GPU), at
# least 50. Frames are scored every REPORT_EVERY steps, the production default of the stage.
STEPS = {"implicit pocket": (2500, 50_000), "implicit whole": (250, 25_000),
         "explicit whole": (100, 10_000)}
REPORT_EVERY = {"cpu": 50, "gpu": 500}


def build(label: str, work: Path):
    """(ComplexSystems, DynamicsSystem) for one of the three benchmark systems."""
    from rdkit import Chem

    from simulation.explicit import solvate_complex
    from simulation.ligand import parametrize_ligand
    from simulation.pocket import build_pocket
    from simulation.protein import prepare_protein
    from simulation.settings import SimulationSettings
    from simulation.system import DynamicsSystem, build_complex_systems

    explicit = label.startswith("explicit")
    protein = prepare_protein(DATA / "protein.pdb", cache_dir=work / "prep")
    mol = next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))
    xyz_nm = mol.GetConformer().GetPositions() / 10.0
    ligand = parametrize_ligand(mol)
    settings = SimulationSettings(mode="explicit") if explicit else SimulationSettings()
    radius = settings.pocket_radius_angstrom if label == "implicit pocket" else None
    model = build_pocket(protein, xyz_nm, radius_angstrom=radius)
    systems = build_complex_systems(model, ligand, xyz_nm,
                                    restraint_k_kj_mol_nm2=0.0 if explicit else 1000.0)
    dynamics = solvate_complex(systems, ligand, settings) if explicit else \
        DynamicsSystem.implicit(systems)
    return systems, dynamics


def md_settings(label: str, steps: int, report_every: int, minimize: int):
    from simulation.settings import SimulationSettings

    extra = {"mode": "explicit"} if label.startswith("explicit") else {}
    report = min(report_every, steps)
    # Checkpoint interval as in production (2500): a run writes its checkpoint and
    # frames at the end in any case, and both are inside the timed loop.
    return SimulationSettings(production_steps=steps, report_interval_steps=report,
                              minimize_max_iterations=minimize, equilibration_steps=report, **extra)


def pipeline_ns_per_day(systems, dynamics, settings, platform, out_dir) -> float:
    from simulation.md import run_md

    result = run_md(systems, settings, platform, out_dir, dynamics=dynamics,
                    fit_rmsd=dynamics.periodic)
    return result.wall_ns_per_day


def bare_ns_per_day(dynamics, settings, platform) -> float:
    """The same System in a minimal loop: minimize, warm up, then time ``step(n)``."""
    import openmm
    import openmm.unit as unit

    system = openmm.XmlSerializer.clone(dynamics.system)
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_kelvin * unit.kelvin,
                                                 settings.friction_per_ps / unit.picosecond,
                                                 settings.timestep_fs * unit.femtosecond)
    context = openmm.Context(system, integrator, platform.platform, platform.properties)
    if dynamics.periodic:
        context.setPeriodicBoxVectors(*[openmm.Vec3(*map(float, v)) for v in dynamics.box_vectors_nm])
    context.setPositions(dynamics.positions_nm * unit.nanometer)
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, settings.minimize_max_iterations)
    context.setVelocitiesToTemperature(settings.temperature_kelvin * unit.kelvin, settings.seed)
    integrator.step(settings.report_interval_steps)  # warm-up (kernel compilation on GPUs)
    context.getState(getEnergy=True)
    tic = time.perf_counter()
    integrator.step(settings.production_steps)
    context.getState(getEnergy=True)  # waits for the device to finish
    seconds = time.perf_counter() - tic
    return settings.production_steps * settings.timestep_fs * 1e-6 / (seconds / 86400.0)


def _warm_up_imports() -> None:
    """Import what the pipeline loads lazily on its first frame (pyarrow, scipy's KD-tree), so
    that a one-off import is not charged to the first system's production loop."""
    import pandas as pd
    from scipy.spatial import cKDTree

    cKDTree([[0.0, 0.0, 0.0]])
    with tempfile.TemporaryDirectory() as tmp:
        pd.DataFrame({"x": [1.0]}).to_parquet(Path(tmp) / "warm.parquet")


def _worker(args) -> float:
    systems, dynamics, settings, platform_name, out_dir = args
    from simulation.platform import select_platform

    return pipeline_ns_per_day(systems, dynamics, settings, select_platform(platform_name), out_dir)


def concurrent_ns_per_day(systems, dynamics, settings, platform_name: str, n: int, work: Path):
    """Aggregate and per-run ns/day of ``n`` pipeline runs at once in spawned processes."""
    context = multiprocessing.get_context("spawn")
    jobs = [(systems, dynamics, settings, platform_name, work / f"concurrent{n}_{i}") for i in range(n)]
    with context.Pool(n) as pool:
        rates = pool.map(_worker, jobs)
    return sum(rates), rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs to check the script")
    parser.add_argument("--platform", default="auto", help="auto|CUDA|OpenCL|CPU")
    parser.add_argument("--systems", default=",".join(STEPS), help="comma-separated subset")
    parser.add_argument("--concurrent", type=int, default=4, help="N for the GPU concurrency run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating measurements; best kept")
    parser.add_argument("--force-concurrency", action="store_true",
                        help="run the concurrency part on a CPU platform too (checks the code only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from simulation.platform import select_platform

    platform = select_platform(args.platform)
    kind = "gpu" if platform.is_gpu else "cpu"
    _warm_up_imports()
    print(f"platform: {platform.name} {platform.properties or ''}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="moltwin_bench_") as tmp:
        work = Path(tmp)
        for label in [s.strip() for s in args.systems.split(",")]:
            steps = STEPS[label][kind == "gpu"]
            steps = max(steps // (10 if kind == "cpu" else 5), 50) if args.quick else steps
            tic = time.perf_counter()
            systems, dynamics = build(label, work)
            settings = md_settings(label, steps, REPORT_EVERY[kind], 10 if args.quick else 50)
            build_s = time.perf_counter() - tic
            bare, ours = 0.0, 0.0
            for repeat in range(args.repeats):
                bare = max(bare, bare_ns_per_day(dynamics, settings, platform))
                ours = max(ours, pipeline_ns_per_day(systems, dynamics, settings, platform,
                                                     work / f"{label}_{repeat}"))
            n_atoms = dynamics.topology.getNumAtoms()
            rows.append((label, n_atoms, steps, ours, bare, ours / bare))
            print(f"  {label:16s} {n_atoms:6d} atoms, {steps} steps: moltwin {ours:8.2f} ns/day, "
                  f"bare {bare:8.2f} ns/day, ratio {ours / bare:.2f} (setup {build_s:.0f} s)",
                  flush=True)
            if platform.is_gpu or args.force_concurrency:
                n = args.concurrent
                total, rates = concurrent_ns_per_day(systems, dynamics, settings, platform.name,
                                                     n, work)
                print(f"  {'':16s} {n} concurrent runs: aggregate {total:8.2f} ns/day "
                      f"({total / ours:.2f}x one run; each {', '.join(f'{r:.1f}' for r in rates)})",
                      flush=True)
    print(f"\nMD throughput on {platform.name} (ns/day; 4 fs, HMR; target ratio >= 0.9)")
    print(f"{'system':16s} {'atoms':>7s} {'steps':>6s} {'moltwin':>9s} {'bare':>9s} {'ratio':>6s}")
    for label, n_atoms, steps, ours, bare, ratio in rows:
        print(f"{label:16s} {n_atoms:7d} {steps:6d} {ours:9.2f} {bare:9.2f} {ratio:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
