"""Dock a ligand with AutoDock Vina in a box around the reference ligands.

Pose option (c), for ligands that share no core with any reference. The
receptor is converted to PDBQT by meeko's ``Polymer`` (residue templates,
ACE/NME caps included) and cached next to the prepared protein; the ligand
gets a 3D start from ETKDG and is prepared by meeko. The box covers every
reference ligand's heavy atoms plus a margin: in a congeneric project the
references mark the binding site. Poses come back in the ligand's own atom
order, best Vina score first, for the caller to check for plausibility.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

from moltwin.errors import SimulationError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DockedPose:
    """One Vina pose.

    Attributes
    ----------
    mol
        The ligand (explicit H, same atom order as the input) with this pose.
    score_kcal_mol
        Vina score (kcal/mol, lower is better).
    rank
        1 for Vina's best pose.
    """

    mol: Chem.Mol
    score_kcal_mol: float
    rank: int


def docking_box(references: list[Chem.Mol], padding_angstrom: float) -> tuple[list, list]:
    """Centre and size (Å) of a box around all reference ligands' heavy atoms plus a margin."""
    xyz = np.vstack([ref.GetConformer().GetPositions()[
        [a.GetIdx() for a in ref.GetAtoms() if a.GetAtomicNum() > 1]] for ref in references])
    low, high = xyz.min(axis=0), xyz.max(axis=0)
    centre = (low + high) / 2.0
    size = (high - low) + 2.0 * padding_angstrom
    return centre.tolist(), size.tolist()


def receptor_pdbqt(protein_pdb: str | Path) -> Path:
    """PDBQT of a prepared protein (with hydrogens), written once next to it and reused.

    Raises
    ------
    moltwin.errors.SimulationError
        ``receptor_preparation_failed`` when meeko cannot type a residue.
    """
    protein_pdb = Path(protein_pdb)
    target = protein_pdb.with_suffix(".pdbqt")
    if target.is_file() and target.stat().st_mtime >= protein_pdb.stat().st_mtime:
        return target
    from meeko import MoleculePreparation, PDBQTWriterLegacy, Polymer, ResidueChemTemplates

    try:
        templates = ResidueChemTemplates.create_from_defaults()
        polymer = Polymer.from_pdb_string(protein_pdb.read_text(), templates, MoleculePreparation())
        rigid, _flexible = PDBQTWriterLegacy.write_from_polymer(polymer)
    except Exception as exc:  # meeko raises PolymerCreationError, RuntimeError, ...
        raise SimulationError("receptor_preparation_failed",
                              f"meeko could not convert the protein for Vina: {exc}") from exc
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(rigid)
    os.replace(tmp, target)  # parallel workers never read a half-written file
    return target


def _ligand_pdbqt(mol: Chem.Mol, seed: int) -> str:
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    start = Chem.Mol(mol)
    if AllChem.EmbedMolecule(start, randomSeed=seed) < 0:
        raise SimulationError("embedding_failed", "no 3D start structure for docking")
    setups = MoleculePreparation().prepare(start)
    text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise SimulationError("docking_failed", f"meeko could not prepare the ligand: {error}")
    return text


def _to_input_order(template: Chem.Mol, docked: Chem.Mol, conf_id: int) -> Chem.Mol:
    """Copy a docked conformer onto ``template``'s atoms (meeko may reorder atoms)."""
    match = template.GetSubstructMatch(docked)
    if len(match) != template.GetNumAtoms():
        raise SimulationError("docking_failed", "docked ligand does not map back onto the input")
    posed = Chem.Mol(template)
    posed.RemoveAllConformers()
    conf = Chem.Conformer(template.GetNumAtoms())
    source = docked.GetConformer(conf_id).GetPositions()
    for docked_index, input_index in enumerate(match):
        conf.SetAtomPosition(input_index, source[docked_index].tolist())
    conf.Set3D(True)
    posed.AddConformer(conf, assignId=True)
    return posed


def dock_ligand(mol: Chem.Mol, receptor: str | Path, centre: list, size: list, *,
                exhaustiveness: int = 8, n_poses: int = 9, seed: int = 42) -> list[DockedPose]:
    """Dock a ligand with AutoDock Vina.

    Parameters
    ----------
    mol
        Ligand with explicit hydrogens (its protonation state is kept).
    receptor
        Receptor PDBQT (:func:`receptor_pdbqt`).
    centre, size
        Box centre and edge lengths in Å (:func:`docking_box`).
    exhaustiveness
        Vina search effort.
    n_poses
        Poses to return at most.
    seed
        Seed of the ETKDG start and of Vina's search.

    Returns
    -------
    list of DockedPose
        Best score first.

    Raises
    ------
    moltwin.errors.SimulationError
        ``embedding_failed`` or ``docking_failed``.
    """
    from meeko import PDBQTMolecule, RDKitMolCreate
    from vina import Vina

    ligand = _ligand_pdbqt(mol, seed)
    try:
        engine = Vina(sf_name="vina", cpu=0, seed=seed, verbosity=0)
        engine.set_receptor(str(receptor))
        engine.set_ligand_from_string(ligand)
        engine.compute_vina_maps(center=list(map(float, centre)), box_size=list(map(float, size)))
        engine.dock(exhaustiveness=exhaustiveness, n_poses=n_poses)
        scores = engine.energies(n_poses=n_poses)[:, 0]
        docked = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(engine.poses(n_poses=n_poses),
                                                             skip_typing=True))[0]
    except SimulationError:
        raise
    except Exception as exc:  # Vina raises RuntimeError/TypeError on bad boxes or ligands
        raise SimulationError("docking_failed", f"AutoDock Vina failed: {exc}") from exc
    if docked is None or docked.GetNumConformers() == 0:
        raise SimulationError("docking_failed", "AutoDock Vina returned no pose")
    template = Chem.Mol(mol)
    template.RemoveAllConformers()
    poses = [DockedPose(_to_input_order(template, docked, conf.GetId()), float(score), rank)
             for rank, (conf, score) in enumerate(zip(docked.GetConformers(), scores), start=1)]
    log.info("docked %s: best Vina score %.2f kcal/mol", Chem.MolToSmiles(Chem.RemoveHs(mol)),
             poses[0].score_kcal_mol)
    return poses


def vina_local_scorer(receptor: str | Path, centre: list, size: list, seed: int = 42):
    """A pose scorer: Vina score (kcal/mol) after a local optimization in place.

    Used to choose among MCS embeddings by how well each fits after
    minimization rather than by a geometric proxy. The Vina grid maps are
    computed once for the box; each call prepares the ligand from its own
    coordinates (meeko keeps them), minimizes locally and scores.

    Returns
    -------
    callable
        ``mol -> float`` (lower is better; +inf when the pose cannot be scored).
    """
    from meeko import MoleculePreparation, PDBQTWriterLegacy
    from vina import Vina

    engine = Vina(sf_name="vina", cpu=1, seed=seed, verbosity=0)
    engine.set_receptor(str(receptor))
    maps_ready = False

    def score(mol: Chem.Mol) -> float:
        nonlocal maps_ready
        try:
            setups = MoleculePreparation().prepare(Chem.Mol(mol))
            text, ok, _error = PDBQTWriterLegacy.write_string(setups[0])
            if not ok:
                return float("inf")
            engine.set_ligand_from_string(text)
            if not maps_ready:
                engine.compute_vina_maps(center=list(map(float, centre)),
                                         box_size=list(map(float, size)))
                maps_ready = True
            return float(engine.optimize()[0])
        except Exception as exc:  # a pose outside the box, an untypable atom: never best
            log.info("Vina could not score a pose: %s", exc)
            return float("inf")

    return score
