"""Parametrize a posed ligand: partial charges, then GAFF2 templates for OpenMM.

Charges are tried in order (default NAGL -> AM1-BCC via sqm -> MMFF94): NAGL is
a graph network trained to reproduce AM1-BCC (about a second, no QM; run in a
helper process with a time limit, see :mod:`simulation.nagl`), sqm is
the reference AM1-BCC but takes tens of seconds to minutes, MMFF94 is the
always-available last resort. The method used is recorded. Atom types and
bonded parameters come from antechamber/parmchk2 through openmmforcefields'
``GAFFTemplateGenerator``, which keeps the charges we assigned.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

from moltwin.errors import SimulationError
from simulation.nagl import nagl_charges

log = logging.getLogger(__name__)

# Elements with GAFF/GAFF2 atom types (Wang et al., J. Comput. Chem. 2004, 25, 1157);
# NAGL's AM1-BCC model covers the same organic set.
GAFF_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "P", "S", "Cl", "Br", "I"})
_CHARGE_SUM_TOLERANCE = 0.02


@dataclass(slots=True)
class LigandParameters:
    """A parametrized ligand.

    Attributes
    ----------
    molecule
        ``openff.toolkit.Molecule`` with the pose as its conformer and partial charges.
    ffxml
        OpenMM force-field XML (GAFF2 parameters + residue template with charges).
    charge_method
        ``nagl``, ``am1bcc`` or ``mmff94``: the method that produced the charges.
    force_field
        GAFF version, e.g. ``gaff-2.11``.
    notes
        Why earlier charge methods were skipped, if they were.
    """

    molecule: object
    ffxml: str
    charge_method: str
    force_field: str
    notes: list[str] = field(default_factory=list)

    @property
    def charges(self) -> np.ndarray:
        return np.asarray(self.molecule.partial_charges.m_as("elementary_charge"), dtype=float)

    @property
    def formal_charge(self) -> int:
        return int(round(self.molecule.total_charge.m_as("elementary_charge")))


def _ensure_ambertools_on_path() -> None:
    """Put the virtualenv's bin (antechamber, sqm, parmchk2) on PATH.

    ``GAFFTemplateGenerator`` calls antechamber through the shell, and running
    ``.venv/bin/python`` directly does not activate the venv's PATH.
    """
    if shutil.which("antechamber") is None:
        bindir = str(Path(sys.executable).parent)
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def check_elements(mol: Chem.Mol) -> None:
    """Raise ``SimulationError('unsupported_element')`` for atoms GAFF cannot type."""
    bad = sorted({a.GetSymbol() for a in mol.GetAtoms()} - GAFF_ELEMENTS)
    if bad:
        raise SimulationError("unsupported_element",
                              f"GAFF has no atom types for element(s) {', '.join(bad)}")


def to_openff_molecule(mol: Chem.Mol):
    """RDKit Mol (explicit H, 3D) -> ``openff.toolkit.Molecule`` keeping atom order and pose."""
    from openff.toolkit import Molecule

    if mol.GetNumConformers() == 0:
        raise SimulationError("no_pose", "ligand has no 3D coordinates")
    try:
        return Molecule.from_rdkit(mol, allow_undefined_stereo=True, hydrogens_are_explicit=True)
    except Exception as exc:  # openff raises many toolkit-specific exceptions
        raise SimulationError("ligand_conversion_failed",
                              f"OpenFF could not read the ligand: {exc}") from exc


def am1bcc_charges(mol: Chem.Mol, timeout_s: float) -> np.ndarray:
    """AM1-BCC charges from antechamber + sqm, killed after ``timeout_s`` seconds."""
    _ensure_ambertools_on_path()
    net_charge = Chem.GetFormalCharge(mol)
    with tempfile.TemporaryDirectory(prefix="moltwin_sqm_") as tmp:
        Chem.MolToMolFile(mol, os.path.join(tmp, "lig.mol"))
        cmd = ["antechamber", "-i", "lig.mol", "-fi", "mdl", "-o", "lig.mol2", "-fo", "mol2",
               "-c", "bcc", "-nc", str(net_charge), "-at", "gaff2", "-pf", "y", "-dr", "no"]
        # antechamber starts sqm as its own child: run it in a new process group and kill the whole
        # group on timeout, or sqm keeps burning a core long after we gave up on it.
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RuntimeError(f"sqm did not finish within {timeout_s:.0f} s") from exc
        if proc.returncode != 0:
            raise RuntimeError(f"antechamber failed: {stderr[-300:] or stdout[-300:]}")
        text = Path(tmp, "lig.mol2").read_text()
    block = text.split("@<TRIPOS>ATOM")[1].split("@<TRIPOS>")[0]
    charges = [float(line.split()[8]) for line in block.strip().splitlines()]
    if len(charges) != mol.GetNumAtoms():
        raise RuntimeError("antechamber returned a different number of atoms")
    return np.asarray(charges, dtype=float)


def mmff94_charges(mol: Chem.Mol) -> np.ndarray:
    """MMFF94 partial charges from RDKit."""
    props = AllChem.MMFFGetMoleculeProperties(mol)
    if props is None:
        raise RuntimeError("MMFF94 has no parameters for this molecule")
    return np.asarray([props.GetMMFFPartialCharge(i) for i in range(mol.GetNumAtoms())], dtype=float)


def _checked(charges: np.ndarray, n_atoms: int, formal_charge: int) -> np.ndarray:
    """Validate charges and spread a small rounding residual evenly over atoms."""
    if charges.shape != (n_atoms,) or not np.all(np.isfinite(charges)):
        raise RuntimeError("charges are missing or not finite")
    residual = formal_charge - charges.sum()
    if abs(residual) > _CHARGE_SUM_TOLERANCE:
        raise RuntimeError(f"charges sum to {charges.sum():.3f}, formal charge is {formal_charge}")
    return charges + residual / n_atoms


def assign_charges(mol: Chem.Mol, molecule, methods, *, nagl_model: str, sqm_timeout_s: float,
                   nagl_timeout_s: float = 60.0):
    """Try charge methods in order; return (charges, method, notes).

    Raises
    ------
    moltwin.errors.SimulationError
        ``charge_assignment_failed`` when every method fails.
    """
    notes: list[str] = []
    formal = Chem.GetFormalCharge(mol)
    for method in methods:
        try:
            if method == "nagl":
                raw = nagl_charges(molecule, nagl_model, nagl_timeout_s)
            elif method == "am1bcc":
                raw = am1bcc_charges(mol, sqm_timeout_s)
            elif method == "mmff94":
                raw = mmff94_charges(mol)
            else:
                raise ValueError(f"unknown charge method {method!r}")
            return _checked(raw, mol.GetNumAtoms(), formal), method, notes
        except ValueError:
            raise
        except Exception as exc:  # each toolkit has its own exception types
            notes.append(f"{method}: {exc}")
            log.warning("charge method %s failed: %s", method, exc)
    raise SimulationError("charge_assignment_failed", "; ".join(notes))


def parametrize_ligand(mol: Chem.Mol, *, force_field: str = "gaff-2.11",
                       charge_methods=("nagl", "am1bcc", "mmff94"),
                       nagl_model: str = "openff-gnn-am1bcc-1.0.0.pt",
                       sqm_timeout_s: float = 120.0,
                       nagl_timeout_s: float = 60.0) -> LigandParameters:
    """Assign partial charges and GAFF parameters to a posed ligand.

    Parameters
    ----------
    mol
        RDKit Mol with explicit hydrogens and a 3D conformer (the pose).
    force_field
        GAFF version understood by ``GAFFTemplateGenerator`` (``gaff-2.11``).
    charge_methods
        Charge methods to try in order: ``nagl``, ``am1bcc``, ``mmff94``.
    nagl_model
        NAGL model file name (installed with openff-nagl-models).
    sqm_timeout_s
        Time limit of the sqm AM1-BCC calculation.
    nagl_timeout_s
        Time limit of the NAGL charge calculation.

    Returns
    -------
    LigandParameters

    Raises
    ------
    moltwin.errors.SimulationError
        ``unsupported_element``, ``ligand_conversion_failed``,
        ``charge_assignment_failed`` or ``gaff_typing_failed``.
    """
    from openff.units import unit as off_unit

    check_elements(mol)
    molecule = to_openff_molecule(mol)
    charges, method, notes = assign_charges(mol, molecule, charge_methods, nagl_model=nagl_model,
                                            sqm_timeout_s=sqm_timeout_s,
                                            nagl_timeout_s=nagl_timeout_s)
    molecule.partial_charges = off_unit.Quantity(charges, off_unit.elementary_charge)
    _ensure_ambertools_on_path()
    from openmmforcefields.generators import GAFFTemplateGenerator

    try:
        # The generator renames atoms and replaces conformers: give it a copy.
        work_copy = type(molecule)(molecule)
        # antechamber types atoms from the bond graph, so the pose is as good an input
        # as any conformer; the generator's own ETKDG call costs time and fails outright
        # on strained polycycles (MiniDrugBank DrugBank_4545), so keep the pose.
        work_copy.generate_conformers = lambda *args, **kwargs: None
        generator = GAFFTemplateGenerator(molecules=[work_copy], forcefield=force_field)
        ffxml = generator.generate_residue_template(work_copy)
    except Exception as exc:  # antechamber / parmchk2 failures surface as various errors
        raise SimulationError("gaff_typing_failed", f"GAFF typing failed: {exc}") from exc
    return LigandParameters(molecule, ffxml, method, force_field, notes)
