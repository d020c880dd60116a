"""Run minimization, restrained equilibration and production MD with per-frame metrics.

The simulated system is the GB complex (implicit) or the solvated box
(explicit, :mod:`simulation.explicit`); either way each production frame is
scored on the spot from the complex's coordinates (complex, receptor and
ligand GB energies for single-trajectory MM/GBSA, solvent stripped; ligand
RMSD; contacts) and the table is rewritten atomically to Parquet at every
checkpoint, so a killed run leaves a readable file that matches its
checkpoint. A run that finds a checkpoint in its directory resumes from it.
NaN energies trigger one retry with half the timestep and a fresh
minimization; a second NaN becomes ``nan_energy``. A Context that cannot be
created, or a GPU error mid-run, raises
:class:`simulation.platform.PlatformFailure` for the caller to retry elsewhere.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as unit
import pandas as pd

from moltwin.errors import SimulationError
from simulation.platform import PlatformChoice, PlatformFailure, create_context
from simulation.settings import SimulationSettings
from simulation.scoring import FrameScorer
from simulation.system import ComplexSystems, DynamicsSystem, add_positional_restraints

log = logging.getLogger(__name__)

FRAME_COLUMNS = ["step", "time_ps", "potential_energy_kj_mol", "restraint_energy_kj_mol",
                 "ligand_rmsd_A", "n_contacts", "e_complex_kj_mol", "e_receptor_kj_mol",
                 "e_ligand_kj_mol", "mmgbsa_kcal_mol"]
CHECKPOINT_FILE = "checkpoint.npz"
CHECKPOINT_META = "checkpoint.json"
FRAMES_FILE = "frames.parquet"
MINIMIZED_FILE = "minimized_score.json"


class _NaNEnergy(Exception):
    """Raised inside a run when the energy or coordinates are no longer finite."""


@dataclass(slots=True)
class MDResult:
    """Outcome of :func:`run_md`.

    Attributes
    ----------
    frames
        One row per production frame, columns :data:`FRAME_COLUMNS`.
    frames_path
        Parquet file holding ``frames``.
    timestep_fs
        Timestep actually used (halved after a NaN retry).
    ns_simulated
        Production length in ns.
    ns_per_day
        Production throughput (integration only, scoring excluded).
    wall_ns_per_day
        Production throughput over the whole production loop, scoring and
        checkpoints included (what a user of this module gets).
    retries
        0, or 1 when the run was restarted with half the timestep.
    resumed
        True when production continued from a checkpoint.
    """

    frames: pd.DataFrame
    frames_path: Path
    timestep_fs: float
    ns_simulated: float
    ns_per_day: float
    retries: int
    resumed: bool
    wall_ns_per_day: float = math.nan
    minimized_kcal_mol: float = math.nan

    @staticmethod
    def read_minimized(out_dir: Path) -> float:
        """MM/GBSA of the minimized complex written by the run (NaN when absent)."""
        path = Path(out_dir) / MINIMIZED_FILE
        return float(json.loads(path.read_text())["mmgbsa_minimized_kcal_mol"]) if path.is_file() \
            else math.nan


def _write_frames(rows: list[dict], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return frame


def _check_finite(energy_kj_mol: float, positions_nm: np.ndarray) -> None:
    if not math.isfinite(energy_kj_mol) or not np.all(np.isfinite(positions_nm)):
        raise _NaNEnergy("energy or coordinates became NaN")


def _make_context(dynamics: DynamicsSystem, settings: SimulationSettings, platform: PlatformChoice,
                  timestep_fs: float) -> openmm.Context:
    system = openmm.XmlSerializer.clone(dynamics.system)
    heavy = [a.index for a in dynamics.topology.atoms()
             if a.index < dynamics.n_solute_atoms and a.element.symbol != "H"]
    # Equilibration restraint on every solute heavy atom (ligand included), switched off later.
    add_positional_restraints(system, heavy, dynamics.positions_nm, 0.0, parameter="k_equil")
    integrator = openmm.LangevinMiddleIntegrator(settings.temperature_kelvin * unit.kelvin,
                                                 settings.friction_per_ps / unit.picosecond,
                                                 timestep_fs * unit.femtosecond)
    integrator.setRandomNumberSeed(settings.seed)
    context = create_context(system, integrator, platform)
    if dynamics.periodic:
        context.setPeriodicBoxVectors(*[openmm.Vec3(*map(float, v)) * unit.nanometer
                                        for v in dynamics.box_vectors_nm])
    context.setPositions(dynamics.positions_nm * unit.nanometer)
    return context


def _prepare(context: openmm.Context, settings: SimulationSettings, scorer: FrameScorer | None = None,
             n_solute: int = 0, out_dir: Path | None = None) -> None:
    """Minimize (and score the minimum), then equilibrate with all heavy atoms restrained."""
    if settings.minimize_max_iterations > 0:  # 0 would mean "no limit" to OpenMM
        openmm.LocalEnergyMinimizer.minimize(context, 10.0, settings.minimize_max_iterations)
    if settings.minimize_until_converged:
        openmm.LocalEnergyMinimizer.minimize(context, 10.0, 0)
    if scorer is not None and out_dir is not None:  # the minimized single point, kept for resume
        xyz = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)
        point = scorer.score(xyz[:n_solute])
        (out_dir / MINIMIZED_FILE).write_text(json.dumps(
            {"mmgbsa_minimized_kcal_mol": point["mmgbsa_kcal_mol"]}))
    context.setVelocitiesToTemperature(settings.temperature_kelvin * unit.kelvin, settings.seed)
    if settings.equilibration_steps:
        context.setParameter("k_equil", settings.restraint_k_kj_mol_nm2)
        context.getIntegrator().step(settings.equilibration_steps)
        context.setParameter("k_equil", 0.0)
    energy = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
        unit.kilojoule_per_mole)
    _check_finite(energy, np.zeros(1))


def _save_checkpoint(context: openmm.Context, out_dir: Path, step: int, timestep_fs: float) -> None:
    """Positions, velocities, box and context parameters as NumPy arrays.

    Portable across platforms (a run that lost its GPU resumes on the CPU) and
    about 30x faster to write than OpenMM's XML State, which costs ~0.2 s for a
    50k-atom water box: a real fraction of a GPU checkpoint interval.
    """
    state = context.getState(getPositions=True, getVelocities=True, getParameters=True)
    parameters = state.getParameters()
    names = sorted(parameters)
    tmp = out_dir / f"{CHECKPOINT_FILE}.{os.getpid()}.tmp.npz"
    np.savez(tmp, positions=state.getPositions(asNumpy=True).value_in_unit(unit.nanometer),
             velocities=state.getVelocities(asNumpy=True).value_in_unit(unit.nanometer / unit.picosecond),
             box=state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer),
             parameter_names=np.array(names, dtype=str),
             parameter_values=np.array([parameters[n] for n in names], dtype=float))
    os.replace(tmp, out_dir / CHECKPOINT_FILE)
    (out_dir / CHECKPOINT_META).write_text(json.dumps({"step": step, "timestep_fs": timestep_fs}))


def _restore(context: openmm.Context, state_path: Path) -> None:
    with np.load(state_path) as data:
        context.setPeriodicBoxVectors(*[openmm.Vec3(*map(float, v)) for v in data["box"]])
        context.setPositions(data["positions"] * unit.nanometer)
        context.setVelocities(data["velocities"] * unit.nanometer / unit.picosecond)
        for name, value in zip(data["parameter_names"], data["parameter_values"]):
            context.setParameter(str(name), float(value))


def _load_checkpoint(context, out_dir: Path, timestep_fs: float) -> tuple[int, list[dict]]:
    """Restore a checkpoint written with the same timestep; return (step, frames so far)."""
    meta_path, state_path = out_dir / CHECKPOINT_META, out_dir / CHECKPOINT_FILE
    frames_path = out_dir / FRAMES_FILE
    if not (meta_path.is_file() and state_path.is_file() and frames_path.is_file()):
        return 0, []
    try:
        meta = json.loads(meta_path.read_text())
        if abs(meta["timestep_fs"] - timestep_fs) > 1e-9:
            return 0, []
        _restore(context, state_path)
        rows = pd.read_parquet(frames_path)
    except Exception as exc:  # a damaged checkpoint means: start again
        log.warning("ignoring unreadable checkpoint in %s: %s", out_dir, exc)
        return 0, []
    rows = rows[rows["step"] <= meta["step"]]
    return int(meta["step"]), rows.to_dict("records")


def _run_once(dynamics: DynamicsSystem, settings, platform, out_dir: Path, timestep_fs: float,
              n_steps: int, report_every: int, checkpoint_every: int, scorer: FrameScorer):
    context = _make_context(dynamics, settings, platform, timestep_fs)
    step, rows = _load_checkpoint(context, out_dir, timestep_fs)
    resumed = step > 0
    if not resumed:
        _prepare(context, settings, scorer, dynamics.n_solute_atoms, out_dir)
    integrator = context.getIntegrator()
    frames_path = out_dir / FRAMES_FILE
    integrate_s = 0.0
    steps_done = 0
    n_solute = dynamics.n_solute_atoms
    loop_tic = time.perf_counter()
    while step < n_steps:
        chunk = min(report_every, n_steps - step)
        tic = time.perf_counter()
        integrator.step(chunk)
        state = context.getState(getPositions=True, getEnergy=True, groups={0})
        integrate_s += time.perf_counter() - tic
        step += chunk
        steps_done += chunk
        positions = state.getPositions(asNumpy=True).value_in_unit(unit.nanometer)
        energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        _check_finite(energy, positions)
        restraint = context.getState(getEnergy=True, groups={1}).getPotentialEnergy()
        row = {"step": step, "time_ps": step * timestep_fs / 1000.0,
               "potential_energy_kj_mol": energy,
               "restraint_energy_kj_mol": restraint.value_in_unit(unit.kilojoule_per_mole)}
        # Implicit: the context's group-0 energy is the GB complex energy; explicit:
        # the scorer evaluates the complex with the solvent stripped.
        row.update(scorer.score(positions[:n_solute],
                                complex_energy_kj_mol=None if dynamics.periodic else energy))
        rows.append(row)
        if step % checkpoint_every < chunk or step >= n_steps:
            _write_frames(rows, frames_path)
            _save_checkpoint(context, out_dir, step, timestep_fs)
    frames = _write_frames(rows, frames_path)
    loop_s = time.perf_counter() - loop_tic
    ns_done = steps_done * timestep_fs * 1e-6
    ns_per_day = ns_done / (integrate_s / 86400.0) if integrate_s else 0.0
    wall_ns_per_day = ns_done / (loop_s / 86400.0) if steps_done else 0.0
    return frames, ns_per_day, wall_ns_per_day, resumed


def run_md(systems: ComplexSystems, settings: SimulationSettings, platform: PlatformChoice,
           out_dir: str | Path, dynamics: DynamicsSystem | None = None,
           fit_rmsd: bool = False) -> MDResult:
    """Minimize, equilibrate and run production MD, scoring every reported frame.

    Parameters
    ----------
    systems
        Complex, receptor and ligand GB systems (:func:`simulation.system.build_complex_systems`):
        simulated in implicit mode and always used for scoring.
    settings
        Step counts, timestep, temperature, restraint strength, seed.
    platform
        OpenMM platform to run on.
    out_dir
        Run directory (content-hash keyed by the caller): frames Parquet and
        checkpoint live here; an existing checkpoint is resumed.
    dynamics
        The system to integrate when it is not the GB complex (the solvated box
        from :func:`simulation.explicit.solvate_complex`).
    fit_rmsd
        Superpose each frame's protein CA atoms on the start before the ligand
        RMSD (for unrestrained proteins, i.e. explicit solvent).

    Returns
    -------
    MDResult

    Raises
    ------
    moltwin.errors.SimulationError
        ``nan_energy`` when the run blows up twice (second time at half the timestep).
    simulation.platform.PlatformFailure
        A Context cannot be created on ``platform``, or a GPU run failed with a
        non-NaN OpenMM error (device lost): retry on another platform.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dynamics = dynamics if dynamics is not None else DynamicsSystem.implicit(systems)
    scorer = FrameScorer(systems, platform, fit_rmsd=fit_rmsd,
                         model=(settings.scoring_gb_model, settings.scoring_solute_dielectric,
                                settings.scoring_salt_molar))
    dt, n_steps = settings.timestep_fs, settings.production_steps
    report, checkpoint = settings.report_interval_steps, settings.checkpoint_interval_steps
    for retry in (0, 1):
        try:
            frames, ns_per_day, wall, resumed = _run_once(dynamics, settings, platform, out_dir, dt,
                                                          n_steps, report, checkpoint, scorer)
            ns = n_steps * dt * 1e-6
            return MDResult(frames, out_dir / FRAMES_FILE, dt, ns, ns_per_day, retry, resumed, wall,
                            MDResult.read_minimized(out_dir))
        except (_NaNEnergy, openmm.OpenMMException) as exc:
            if not isinstance(exc, _NaNEnergy) and "nan" not in str(exc).lower():
                if platform.is_gpu:  # e.g. CUDA_ERROR_LAUNCH_FAILED: the device went away
                    raise PlatformFailure(platform.name, str(exc)) from exc
                raise
            log.warning("NaN during MD at %.1f fs (%s)%s", dt, exc,
                        "; retrying with half the timestep" if retry == 0 else "")
            for name in (CHECKPOINT_FILE, CHECKPOINT_META, FRAMES_FILE, MINIMIZED_FILE):
                (out_dir / name).unlink(missing_ok=True)
            # Same simulated time and frame spacing at half the timestep.
            dt, n_steps, report, checkpoint = dt / 2, n_steps * 2, report * 2, checkpoint * 2
    raise SimulationError("nan_energy", f"energy became NaN twice (last timestep {dt * 2:.2f} fs)")
