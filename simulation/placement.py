"""Give a ligand its starting pose: provided, MCS on a reference, or Vina docking; then check it.

Order of business for one request:

1. A provided pose (SDF) is used as it is (3D and hydrogens required).
2. Otherwise the SMILES gets its protonation state (:mod:`simulation.protonate`)
   and is posed by ``pose_method``: ``mcs`` on the most similar reference
   (:mod:`simulation.pose`), ``dock`` with AutoDock Vina (:mod:`simulation.dock`),
   or ``auto``: MCS, and Vina when the ligand shares no core with any reference
   or its MCS pose clashes with the protein or fails the checks (a new
   substituent that does not fit where the reference's did).
3. Every pose must clear a quick heavy-atom clash test and, unless switched
   off, the PoseBusters checks (:mod:`simulation.plausibility`) before any MD
   time is spent. Docked poses are tried best Vina score first; the first one
   that passes wins. The checks fail closed: one that cannot run leaves the
   pose ``unchecked`` (simulated, but never counted as passed).
4. A provided or MCS pose that fails only protein-contact checks (a clash, volume
   overlap) is not rejected here: it is marked for a restrained relaxation of
   the ligand and nearby side chains (:mod:`simulation.relax`), after which the
   checks run again and decide.
5. The posed 3D structure must be the requested molecule: SMILES with open
   stereocentres are refused (``undefined_stereo``, the isomers are listed)
   and every MCS or docked pose is compared, stereo and charges included, with
   the protonated SMILES (``pose_mismatch`` otherwise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem

from moltwin.errors import SimulationError
from simulation.dock import dock_ligand, docking_box, receptor_pdbqt, vina_local_scorer
from simulation.plausibility import FAILED, PASSED, UNCHECKED, failed_pose_checks, \
    is_contact_failure, pose_verdict
from simulation.pose import check_clash, check_pose_identity, parse_smiles, pose_from_reference, \
    pose_from_sdf, read_reference_ligands, require_defined_stereo
from simulation.protonate import protonate_for_ph
from simulation.settings import SimulationSettings

log = logging.getLogger(__name__)

# MCS failures after which 'auto' docks instead (anything else is a real error).
_MCS_MISSES = {"no_common_core", "mcs_match_failed", "embedding_failed", "pose_clash",
               "implausible_pose", "pose_mismatch"}


@dataclass(slots=True)
class Placement:
    """A checked starting pose.

    Attributes
    ----------
    mol
        Ligand with explicit hydrogens and the pose as its conformer (stays inside
        the simulation stage; records carry SMILES).
    method
        ``provided``, ``mcs`` or ``dock``.
    reference
        Reference ligand (MCS), pose file (provided) or ``vina rank N`` (dock).
    smiles
        The simulated form (after protonation), canonical, without hydrogens.
    notes
        Protonation decisions, fallbacks, skipped checks.
    check_status
        ``passed``, ``failed`` (``pose_check="warn"``: simulated anyway),
        ``unchecked`` (a check could not run) or ``off``.
    relax_for
        Failed protein-contact checks of a provided pose: relax, then check again.
    """

    mol: Chem.Mol
    method: str
    reference: str
    smiles: str
    notes: list[str] = field(default_factory=list)
    check_status: str = UNCHECKED
    relax_for: list[str] = field(default_factory=list)


def run_pose_checks(mol: Chem.Mol, protein_pdb: Path, protein_heavy_A: np.ndarray,
                    settings: SimulationSettings) -> tuple[str, list[str], list[str]]:
    """Clash test and PoseBusters; (verdict, failed check names, notes). Never raises."""
    failed: list[str] = []
    try:
        check_clash(mol, protein_heavy_A, settings.clash_distance_angstrom)
    except SimulationError as exc:
        failed.append("pose_clash")
        notes = [str(exc)]
    else:
        notes = []
    if settings.pose_check == "off":
        return ("failed" if failed else "off"), failed, notes
    more, not_run = failed_pose_checks(mol, protein_pdb)
    failed += more
    notes += not_run
    return pose_verdict(failed, not_run), failed, notes


def _check(mol: Chem.Mol, protein_pdb: Path, protein_heavy_A: np.ndarray,
           settings: SimulationSettings, notes: list[str], allow_relaxation: bool = False
           ) -> tuple[str, list[str]]:
    """Checks with the settings' policy; returns (verdict, checks to fix by relaxation).

    Raises ``pose_clash`` / ``implausible_pose`` for a failing pose, unless every
    failure is a protein contact and ``allow_relaxation`` is set.
    """
    verdict, failed, check_notes = run_pose_checks(mol, protein_pdb, protein_heavy_A, settings)
    notes.extend(n for n in check_notes if not n.startswith("ligand heavy atom"))
    if verdict == UNCHECKED:
        notes.append("pose unchecked: a plausibility check could not run")
    if not failed:
        return verdict, []
    message = f"PoseBusters checks failed: {', '.join(failed)}"
    if allow_relaxation and all(is_contact_failure(c) for c in failed):
        notes.append(message + "; relaxing ligand and nearby side chains before checking again")
        return verdict, failed
    if "pose_clash" in failed:  # beyond what minimization should be asked to fix, in any mode
        raise SimulationError("pose_clash", check_notes[0])
    if settings.pose_check == "reject":
        raise SimulationError("implausible_pose", message)
    notes.append(message + " (pose_check=warn: simulated anyway)")
    return FAILED, []


def _dock(mol: Chem.Mol, references: list[Chem.Mol], protein_pdb: Path, protein_heavy_A,
          settings: SimulationSettings, notes: list[str]) -> Chem.Mol:
    centre, size = docking_box(references, settings.dock_box_padding_angstrom)
    poses = dock_ligand(mol, receptor_pdbqt(protein_pdb), centre, size,
                        exhaustiveness=settings.dock_exhaustiveness, seed=settings.seed)
    reasons = []
    for pose in poses:
        trial_notes: list[str] = []
        try:
            check_pose_identity(pose.mol, Chem.MolToSmiles(Chem.RemoveHs(mol)))
            verdict, _ = _check(pose.mol, protein_pdb, protein_heavy_A, settings, trial_notes)
        except SimulationError as exc:
            reasons.append(f"rank {pose.rank}: {exc}")
            continue
        notes.extend(trial_notes)
        notes.append(f"docked with AutoDock Vina: rank {pose.rank} pose, score "
                     f"{pose.score_kcal_mol:.2f} kcal/mol")
        pose.mol.SetProp("pose_reference", f"vina rank {pose.rank}")
        pose.mol.SetDoubleProp("vina_score_kcal_mol", pose.score_kcal_mol)
        pose.mol.SetProp("pose_check_status", verdict)
        return pose.mol
    raise SimulationError("implausible_pose", f"no docked pose passed the checks ({len(poses)} "
                          f"tried): {'; '.join(reasons[:3])}")


def place_ligand(smiles: str, settings: SimulationSettings, protein_pdb: str | Path,
                 protein_heavy_A: np.ndarray, *, pose_sdf: str | Path | None = None,
                 reference_ligands_sdf: str | Path | None = None) -> Placement:
    """Pose one ligand in its protein and check the pose.

    Parameters
    ----------
    smiles
        The ligand as given.
    settings
        Pose method, protonation, docking and check settings.
    protein_pdb
        The *prepared* protein file (PoseBusters reads it; the Vina receptor is
        cached beside it).
    protein_heavy_A
        Protein heavy-atom coordinates (Å) for the clash test and MCS choice.
    pose_sdf
        A provided pose; used as it is.
    reference_ligands_sdf
        Posed reference ligands (MCS templates; they also define the docking box).

    Returns
    -------
    Placement

    Raises
    ------
    moltwin.errors.SimulationError
        ``no_pose``, ``unparsable_smiles``, ``no_3d_coordinates``, ``missing_hydrogens``,
        ``pose_mismatch``, ``no_common_core``, ``docking_failed``, ``pose_clash``,
        ``implausible_pose`` and the like.
    """
    protein_pdb = Path(protein_pdb)
    notes: list[str] = []
    if pose_sdf is not None:
        mol = pose_from_sdf(pose_sdf, smiles, add_missing_hydrogens=settings.add_missing_hydrogens)
        if mol.HasProp("pose_hydrogens_added"):
            notes.append(f"{mol.GetIntProp('pose_hydrogens_added')} hydrogens added to the pose")
        verdict, relax_for = _check(mol, protein_pdb, protein_heavy_A, settings, notes,
                                    allow_relaxation=settings.relax_failed_poses)
        return Placement(mol, "provided", mol.GetProp("pose_reference"),
                         Chem.MolToSmiles(Chem.RemoveHs(mol)), notes, verdict, relax_for)
    if reference_ligands_sdf is None:
        raise SimulationError("no_pose", "neither a pose nor reference ligands were given")
    if settings.ligand_protonation != "keep":
        smiles, note = protonate_for_ph(smiles, settings.protonation_ph,
                                        method=settings.ligand_protonation)
        notes.extend([note] if note else [])
    else:
        smiles = Chem.MolToSmiles(parse_smiles(smiles))
    require_defined_stereo(smiles)
    references = read_reference_ligands(reference_ligands_sdf)
    method = settings.pose_method
    if method in ("auto", "mcs"):
        try:
            mol = pose_from_reference(smiles, references, seed=settings.seed,
                                      protein_heavy_xyz_angstrom=protein_heavy_A,
                                      n_attempts=settings.mcs_embeddings,
                                      scorer=_embedding_scorer(references, protein_pdb, settings))
            check_pose_identity(mol, smiles)
            # A congeneric core on its reference's coordinates with a small contact problem
            # (the published ejm_49 pose has a 1.86 Å contact) is relaxed, not replaced by docking.
            verdict, relax_for = _check(mol, protein_pdb, protein_heavy_A, settings, notes,
                                        allow_relaxation=settings.relax_failed_poses)
            if mol.HasProp("pose_score_kcal_mol"):
                notes.append(f"MCS embedding chosen of {settings.mcs_embeddings} by Vina score "
                             f"after local optimization ({mol.GetDoubleProp('pose_score_kcal_mol'):.2f})")
            return Placement(mol, "mcs", mol.GetProp("pose_reference"), smiles, notes, verdict,
                             relax_for)
        except SimulationError as exc:
            if method == "mcs" or exc.reason_code not in _MCS_MISSES:
                raise
            notes.append(f"MCS posing failed ({exc.reason_code}: {exc}); docking instead")
    mol = _dock(Chem.AddHs(parse_smiles(smiles)), references, protein_pdb, protein_heavy_A,
                settings, notes)
    return Placement(mol, "dock", mol.GetProp("pose_reference"), smiles, notes,
                     mol.GetProp("pose_check_status"))


def _embedding_scorer(references: list[Chem.Mol], protein_pdb: Path, settings: SimulationSettings):
    """Vina score after local optimization, to choose among MCS embeddings (None if off/unavailable)."""
    if settings.mcs_embedding_choice != "vina":
        return None
    try:
        centre, size = docking_box(references, settings.dock_box_padding_angstrom)
        return vina_local_scorer(receptor_pdbqt(protein_pdb), centre, size, seed=settings.seed)
    except Exception as exc:  # no receptor PDBQT: fall back to the clash count, and say so
        log.warning("Vina scorer unavailable, MCS embeddings chosen by clashes: %s", exc)
        return None
