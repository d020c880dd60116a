"""The one entry point of the simulation stage: ``simulate_ligand``.

pose -> parametrize -> pocket -> systems -> MD -> summary, in a run directory
keyed by the content hash of every input and setting. Per-ligand problems
never raise: they come back as a record with ``status="failed"``, a reason
code and a message. A finished run directory is reused as a cache.
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

import openmm.app as app
import openmm.unit as unit
from rdkit import Chem

from moltwin.errors import BadInputError, MolTwinError, SimulationError
from simulation.analyse import summarize_frames
from simulation.ligand import check_elements, parametrize_ligand
from simulation.md import run_md
from simulation.platform import select_platform
from simulation.pocket import build_pocket
from simulation.pose import check_clash, parse_smiles, pose_from_reference, pose_from_sdf, \
    read_reference_ligands
from simulation.protein import file_sha256, prepare_protein
from simulation.settings import SimulationSettings
from simulation.system import PROTEIN_FORCE_FIELDS, build_complex_systems

log = logging.getLogger(__name__)

SIMULATION_CODE_VERSION = "1"  # bump when results change for the same inputs
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
    force_field: str = ""
    charge_method: str = ""
    pose_reference: str = ""
    n_atoms: int = 0
    ns_simulated: float = math.nan
    n_frames: int = 0
    ns_per_day: float = math.nan
    rmsd_mean_A: float = math.nan
    rmsd_max_A: float = math.nan
    frac_frames_within_2A: float = math.nan
    contacts_mean: float = math.nan
    mmgbsa_kcal_mol: float = math.nan
    mmgbsa_sem_kcal_mol: float = math.nan
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


def _pose(request: SimulationRequest, settings: SimulationSettings, protein_heavy_A) -> Chem.Mol:
    if request.pose_sdf is not None:
        return pose_from_sdf(request.pose_sdf, request.smiles)
    if request.reference_ligands_sdf is None:
        raise SimulationError("no_pose", "neither a pose nor reference ligands were given")
    references = read_reference_ligands(request.reference_ligands_sdf)
    return pose_from_reference(request.smiles, references, seed=settings.seed,
                               protein_heavy_xyz_angstrom=protein_heavy_A)


def _simulate(request, settings, run_dir: Path, record: SimulationRecord) -> None:
    check_elements(parse_smiles(request.smiles))  # cheap checks before any heavy lifting
    platform = select_platform(settings.platform, settings.cpu_threads)
    record.platform = platform.name
    record.notes.extend(platform.warnings)
    protein = prepare_protein(request.protein_pdb, protonation_ph=settings.protonation_ph,
                              keep_water=settings.keep_water,
                              cache_dir=run_dir.parent / "prepared_proteins")
    protein_heavy_A = protein.heavy_atom_positions_nm() * 10.0
    posed = _pose(request, settings, protein_heavy_A)
    record.pose_reference = posed.GetProp("pose_reference") if posed.HasProp("pose_reference") else ""
    check_clash(posed, protein_heavy_A, settings.clash_distance_angstrom)
    Chem.MolToMolFile(posed, str(run_dir / "ligand_pose.mol"))
    ligand = parametrize_ligand(posed, force_field=settings.ligand_force_field,
                                charge_methods=settings.charge_methods,
                                nagl_model=settings.nagl_model, sqm_timeout_s=settings.sqm_timeout_s)
    record.charge_method = ligand.charge_method
    record.force_field = f"{PROTEIN_FORCE_FIELDS[0]} + {ligand.force_field} + GBSAOBC2"
    record.notes.extend(ligand.notes)
    ligand_xyz_nm = posed.GetConformer().GetPositions() / 10.0
    model = build_pocket(protein, ligand_xyz_nm, radius_angstrom=settings.pocket_radius_angstrom,
                         flexible_radius_angstrom=settings.flexible_radius_angstrom,
                         max_gap_residues=settings.pocket_max_gap_residues,
                         protonation_ph=settings.protonation_ph)
    systems = build_complex_systems(model, ligand, ligand_xyz_nm,
                                    hydrogen_mass_amu=settings.hydrogen_mass_amu,
                                    restraint_k_kj_mol_nm2=settings.restraint_k_kj_mol_nm2)
    record.n_atoms = systems.topology.getNumAtoms()
    with open(run_dir / "complex_start.pdb", "w") as handle:
        app.PDBFile.writeFile(systems.topology, systems.positions_nm * 10.0 * unit.angstrom, handle)
    result = run_md(systems, settings, platform, run_dir)
    if result.retries:
        record.notes.append(f"NaN energy: rerun at {result.timestep_fs:g} fs")
    summary = summarize_frames(result.frames)
    for key, value in summary.items():
        setattr(record, key, value)
    record.ns_simulated = result.ns_simulated
    record.ns_per_day = result.ns_per_day
    record.frames_parquet = str(result.frames_path)
    record.status, record.reason_code = "ok", ""


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
