"""The one entry point of the simulation stage: ``simulate_ligand``.

pose (provided / MCS / Vina, checked) -> parametrize -> pocket or whole
protein -> GB systems (+ water box in explicit mode) -> MD -> summary, in a
run directory keyed by the content hash of every input and setting.
Per-ligand problems never raise: they come back as a record with
``status="failed"``, a reason code and a message. A platform that fails at
context creation (a GPU that vanished) is replaced once by the next working
one and the switch is recorded. A finished run directory is reused as a cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import openmm.app as app
import openmm.unit as unit
from rdkit import Chem

from moltwin.errors import BadInputError, MolTwinError, SimulationError
from simulation.analyse import combine_replicas, summarize_frames
from simulation.explicit import WATER_MODEL, check_box, count_solvent, solvate_complex
from simulation.ligand import check_elements, parametrize_ligand
from simulation.md import MDResult, run_md
from simulation.placement import place_ligand, run_pose_checks
from simulation.platform import PlatformChoice, PlatformFailure, next_platform, select_platform
from simulation.pocket import build_pocket
from simulation.pose import parse_smiles
from simulation.protein import file_sha256, prepare_protein
from simulation.relax import ligand_with_positions, relax_complex, write_receptor_pdb
from simulation.settings import SimulationSettings
from simulation.system import PROTEIN_FORCE_FIELDS, build_complex_systems

log = logging.getLogger(__name__)

SIMULATION_CODE_VERSION = "4"  # bump when results change for the same inputs
RECORD_FILE = "record.json"


@dataclass(slots=True)
class SimulationRequest:
    """One ligand to simulate.

    Attributes
    ----------
    compound_id
        Identifier carried into the record.
    smiles
        The ligand (protonation state as given; hydrogens are added).
    protein_pdb
        Protein structure in the ligands' frame.
    reference_ligands_sdf
        Posed reference ligands for MCS posing (ignored when ``pose_sdf`` is given).
    pose_sdf
        Optional ready-made pose of this ligand.
    """

    compound_id: str
    smiles: str
    protein_pdb: Path
    reference_ligands_sdf: Path | None = None
    pose_sdf: Path | None = None


@dataclass(slots=True)
class SimulationRecord:
    """Result of one ligand simulation (one row of the simulation table)."""

    compound_id: str
    status: str = "failed"          # "ok" | "failed"
    reason_code: str = ""
    message: str = ""
    platform: str = ""
    mode: str = ""                  # "implicit" | "explicit"
    force_field: str = ""
    charge_method: str = ""
    pose_method: str = ""           # "provided" | "mcs" | "dock"
    pose_reference: str = ""
    pose_check_status: str = ""     # passed | failed (warn) | unchecked | off; after relaxation if any
    pose_check_before_relaxation: str = ""  # the first verdict when the pose was relaxed
    ligand_smiles: str = ""         # the simulated protonation state
    n_atoms: int = 0
    ns_simulated: float = math.nan
    n_frames: int = 0
    ns_per_day: float = math.nan
    wall_ns_per_day: float = math.nan
    rmsd_mean_A: float = math.nan
    rmsd_max_A: float = math.nan
    frac_frames_within_2A: float = math.nan
    contacts_mean: float = math.nan
    mmgbsa_kcal_mol: float = math.nan
    mmgbsa_sem_kcal_mol: float = math.nan    # correlation-aware (statistical inefficiency/blocking)
    mmgbsa_naive_sem_kcal_mol: float = math.nan  # std/sqrt(N), for comparison only
    mmgbsa_statistical_inefficiency: float = math.nan
    mmgbsa_frames_discarded: int = 0         # equilibration frames left out of the mean
    mmgbsa_minimized_kcal_mol: float = math.nan  # single point of the minimized complex
    mmgbsa_replica_sd_kcal_mol: float = math.nan  # spread of the replica means (NaN for one run)
    mmgbsa_md_kcal_mol: float = math.nan     # the MD (replica) average, whichever is the estimate
    binding_estimate: str = ""               # what mmgbsa_kcal_mol is: "minimized" | "md_average"
    pose_stable: float = math.nan            # 1.0 / 0.0: rmsd_mean_A <= settings.stable_rmsd_mean_angstrom
    n_replicas: int = 0
    frames_parquet: str = ""
    input_hash: str = ""
    wall_s: float = math.nan
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain dict (JSON/Parquet friendly; notes joined into one string)."""
        row = asdict(self)
        row["notes"] = "; ".join(self.notes)
        return row


def request_hash(request: SimulationRequest, settings: SimulationSettings) -> str:
    """Content hash of everything that determines the result."""
    files = {name: (file_sha256(p) if p is not None and Path(p).is_file() else None)
             for name, p in (("protein", request.protein_pdb),
                             ("references", request.reference_ligands_sdf),
                             ("pose", request.pose_sdf))}
    payload = json.dumps({"smiles": request.smiles, "files": files,
                          "settings": settings.model_dump(mode="json"),
                          "code": SIMULATION_CODE_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _force_field_label(settings: SimulationSettings, ligand_ff: str) -> str:
    scoring = (f"{settings.scoring_gb_model}, eps_in {settings.scoring_solute_dielectric:g}"
               + (f", {settings.scoring_salt_molar:g} M salt" if settings.scoring_salt_molar else ""))
    if settings.mode == "explicit":
        return (f"{PROTEIN_FORCE_FIELDS[0]} + {ligand_ff} + {WATER_MODEL.upper()}/PME "
                f"(MM/GBSA: {scoring}, solvent stripped)")
    return f"{PROTEIN_FORCE_FIELDS[0]} + {ligand_ff} + GBSAOBC2 (MM/GBSA: {scoring})"


def _run_md_with_fallback(systems, dynamics, settings, platform: PlatformChoice, run_dir: Path,
                          record: SimulationRecord) -> MDResult:
    """``run_md``; when its platform fails at context creation, once more on the next platform."""
    explicit = settings.mode == "explicit"
    try:
        return run_md(systems, settings, platform, run_dir, dynamics=dynamics, fit_rmsd=explicit)
    except PlatformFailure as exc:
        fallback = next_platform(exc.platform, settings.cpu_threads)
        if fallback is None:
            raise SimulationError("platform_failed", f"{exc}; no other platform works") from exc
        log.warning("%s; retrying %s on %s", exc, record.compound_id, fallback.name)
        record.notes.append(f"{exc}; retried on {fallback.name}")
        record.platform = fallback.name
    try:  # a checkpoint written on the failed platform is resumed (states are portable)
        return run_md(systems, settings, fallback, run_dir, dynamics=dynamics, fit_rmsd=explicit)
    except PlatformFailure as exc:
        raise SimulationError("platform_failed", f"{exc} (after one retry)") from exc


def _simulate(request, settings, run_dir: Path, record: SimulationRecord) -> None:
    check_elements(parse_smiles(request.smiles))  # cheap checks before any heavy lifting
    explicit = settings.mode == "explicit"
    if explicit and settings.pocket_radius_angstrom is not None:
        raise SimulationError("invalid_settings", "explicit solvent needs the whole protein "
                              "(pocket_radius_angstrom=None): no pocket cut under PBC")
    record.mode = settings.mode
    platform = select_platform(settings.platform, settings.cpu_threads)
    record.platform = platform.name
    record.notes.extend(platform.warnings)
    protein = prepare_protein(request.protein_pdb, protonation_ph=settings.protonation_ph,
                              keep_water=settings.keep_water,
                              cache_dir=run_dir.parent / "prepared_proteins")
    protein_heavy_A = protein.heavy_atom_positions_nm() * 10.0
    placement = place_ligand(request.smiles, settings, protein.path, protein_heavy_A,
                             pose_sdf=request.pose_sdf,
                             reference_ligands_sdf=request.reference_ligands_sdf)
    posed = placement.mol
    record.pose_method, record.pose_reference = placement.method, placement.reference
    record.ligand_smiles = placement.smiles
    record.pose_check_status = placement.check_status
    record.notes.extend(placement.notes)
    check_elements(posed)
    ligand_xyz_nm = posed.GetConformer().GetPositions() / 10.0
    if explicit:  # before the expensive steps: the box depends only on the coordinates
        check_box(np.vstack([protein.positions_nm, ligand_xyz_nm]), settings.box_padding_nm,
                  settings.nonbonded_cutoff_nm)
    Chem.MolToMolFile(posed, str(run_dir / "ligand_pose.mol"))
    ligand = parametrize_ligand(posed, force_field=settings.ligand_force_field,
                                charge_methods=settings.charge_methods,
                                nagl_model=settings.nagl_model, sqm_timeout_s=settings.sqm_timeout_s,
                                nagl_timeout_s=settings.nagl_timeout_s)
    record.charge_method = ligand.charge_method
    record.force_field = _force_field_label(settings, ligand.force_field)
    record.notes.extend(ligand.notes)
    model = build_pocket(protein, ligand_xyz_nm, radius_angstrom=settings.pocket_radius_angstrom,
                         flexible_radius_angstrom=settings.flexible_radius_angstrom,
                         max_gap_residues=settings.pocket_max_gap_residues,
                         protonation_ph=settings.protonation_ph)
    # Explicit solvent: no boundary restraints (the whole protein moves in water);
    # the GB systems then serve only for MM/GBSA on solvent-stripped frames.
    systems = build_complex_systems(model, ligand, ligand_xyz_nm,
                                    hydrogen_mass_amu=settings.hydrogen_mass_amu,
                                    restraint_k_kj_mol_nm2=0.0 if explicit
                                    else settings.restraint_k_kj_mol_nm2)
    if placement.relax_for:
        _relax_and_recheck(systems, posed, placement, settings, platform, run_dir, record)
    dynamics = solvate_complex(systems, ligand, settings) if explicit else None
    record.n_atoms = (dynamics or systems).topology.getNumAtoms()
    if dynamics is not None:
        solvent = count_solvent(dynamics)
        record.notes.append(f"{solvent['n_waters']} waters, {solvent['n_na']} Na+, "
                            f"{solvent['n_cl']} Cl-, box {dynamics.box_vectors_nm[0, 0]:.2f} nm")
    with open(run_dir / "complex_start.pdb", "w") as handle:
        app.PDBFile.writeFile(systems.topology, systems.positions_nm * 10.0 * unit.angstrom, handle)
    results = []
    for k in range(settings.md_replicas):  # same start, velocities from seed + k
        replica = settings if k == 0 else settings.model_copy(update={"seed": settings.seed + k})
        results.append(_run_md_with_fallback(systems, dynamics, replica, platform,
                                             run_dir if k == 0 else run_dir / f"replica_{k}", record))
        if results[-1].retries:
            record.notes.append(f"NaN energy: replica {k} rerun at {results[-1].timestep_fs:g} fs")
    summary = combine_replicas([summarize_frames(r.frames) for r in results])
    for key, value in summary.items():
        setattr(record, key, value)
    result = results[0]
    record.mmgbsa_minimized_kcal_mol = result.minimized_kcal_mol
    record.mmgbsa_md_kcal_mol = record.mmgbsa_kcal_mol
    if math.isfinite(record.rmsd_mean_A):
        record.pose_stable = float(record.rmsd_mean_A <= settings.stable_rmsd_mean_angstrom)
        if not record.pose_stable:
            record.notes.append(f"pose unstable: mean ligand RMSD {record.rmsd_mean_A:.2f} Å > "
                                f"{settings.stable_rmsd_mean_angstrom:g} Å (bench/pose_stability.py)")
    record.binding_estimate = settings.binding_estimate
    if settings.binding_estimate == "minimized":
        # The study's winner: the single point at the converged minimum. It is deterministic; the SE
        # beside it stays the sampling error of the same energy model over the MD replicas started
        # there (docs/simulation.md, "Protocol study").
        record.mmgbsa_kcal_mol = result.minimized_kcal_mol
    record.ns_simulated = sum(r.ns_simulated for r in results)
    record.ns_per_day = float(np.mean([r.ns_per_day for r in results]))
    record.wall_ns_per_day = float(np.mean([r.wall_ns_per_day for r in results]))
    record.frames_parquet = str(result.frames_path)
    record.status, record.reason_code = "ok", ""


def _relax_and_recheck(systems, posed, placement, settings, platform, run_dir: Path,
                       record: SimulationRecord) -> None:
    """Relax a clashing provided pose in the protein, check again; keep or reject it."""
    relaxed = relax_complex(systems, platform)
    receptor_pdb = run_dir / "relaxed_receptor.pdb"
    write_receptor_pdb(systems, relaxed, receptor_pdb)
    mol = ligand_with_positions(posed, relaxed[systems.ligand_atoms])
    receptor_heavy = [i for i in systems.receptor_atoms
                      if list(systems.topology.atoms())[i].element.symbol != "H"]
    verdict, failed, notes = run_pose_checks(mol, receptor_pdb, relaxed[receptor_heavy] * 10.0,
                                             settings)
    record.pose_check_before_relaxation = placement.check_status
    record.pose_check_status = verdict
    shift = float(np.sqrt(((relaxed[systems.ligand_atoms] - systems.positions_nm[systems.ligand_atoms])
                           ** 2).sum(axis=1).mean()) * 10.0)
    record.notes.append(f"restrained relaxation (ligand moved {shift:.2f} Å RMS): checks "
                        f"{verdict}" + (f" ({', '.join(failed)})" if failed else ""))
    if failed and settings.pose_check == "reject":
        raise SimulationError("implausible_pose", f"still failing after a restrained relaxation: "
                              f"{', '.join(failed)} (before: {', '.join(placement.relax_for)})")
    if failed:
        record.notes.append("pose_check=warn: simulated anyway")
    record.notes.extend(notes)
    systems.positions_nm = relaxed  # MD, and the ligand RMSD reference, start from the relaxed pose
    Chem.MolToMolFile(mol, str(run_dir / "ligand_pose_relaxed.mol"))


def simulate_ligand(request: SimulationRequest, settings: SimulationSettings,
                    work_dir: str | Path) -> SimulationRecord:
    """Pose, parametrize and simulate one ligand in its protein; summarize the run.

    Parameters
    ----------
    request
        Ligand, protein and posing inputs.
    settings
        Simulation settings (pocket, force fields, MD lengths, platform).
    work_dir
        Root of the run directories; this run uses ``work_dir/<input_hash[:16]>``
        and prepared proteins are cached in ``work_dir/prepared_proteins``.

    Returns
    -------
    SimulationRecord
        ``status="ok"`` with the summary, or ``status="failed"`` with
        ``reason_code`` and ``message``. Per-ligand problems never raise.

    Raises
    ------
    moltwin.errors.BadInputError
        The protein file is missing or unreadable (a configuration problem
        shared by every ligand, so it stops the batch).
    """
    tic = time.perf_counter()
    record = SimulationRecord(compound_id=request.compound_id)
    try:
        record.input_hash = request_hash(request, settings)
    except OSError as exc:
        raise BadInputError(f"cannot read simulation inputs: {exc}") from exc
    run_dir = Path(work_dir) / record.input_hash[:16]
    cached = run_dir / RECORD_FILE
    if cached.is_file():
        previous = json.loads(cached.read_text())
        if previous.get("status") == "ok":
            previous["notes"] = [n for n in previous.get("notes", "").split("; ") if n]
            previous["compound_id"] = request.compound_id
            previous["notes"].append("reused cached run")
            return SimulationRecord(**previous)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        _simulate(request, settings, run_dir, record)
    except BadInputError:
        raise
    except (SimulationError, MolTwinError) as exc:
        record.status = "failed"
        record.reason_code = getattr(exc, "reason_code", type(exc).__name__)
        record.message = str(exc)
    except Exception as exc:  # unexpected: still a per-ligand failure, with the traceback
        log.exception("simulation of %s failed unexpectedly", request.compound_id)
        record.status, record.reason_code = "failed", "unexpected_error"
        record.message = f"{type(exc).__name__}: {exc}"
        record.notes.append("".join(traceback.format_exception(exc))[-2000:])
    record.wall_s = time.perf_counter() - tic
    (run_dir / RECORD_FILE).write_text(json.dumps(record.to_dict(), indent=1, default=str))
    return record
