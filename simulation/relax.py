"""Restrained relaxation of a clashing pose: ligand and nearby side chains, then check again.

A published pose with a small clash (the 1.86 Å C–O contact of ejm_49 in the
Tyk2 set, a 0.90 Å contact in a held-out target) should not be thrown away:
crystal structures are refined against density, not against our force field.
The complex is minimized with the protein backbone and every protein heavy
atom beyond ``side_chain_radius_angstrom`` of the ligand held in place
(stiff restraints), the ligand's heavy atoms tethered softly to the pose (so
it can move a few tenths of an Ångström, not leave the site), hydrogens free.
The caller then runs the plausibility checks on the relaxed complex and keeps
the pose only if they pass; both verdicts are recorded.
"""

from __future__ import annotations

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
from scipy.spatial import cKDTree

from simulation.platform import PlatformChoice, create_context
from simulation.system import ComplexSystems, add_positional_restraints

BACKBONE = {"N", "CA", "C", "O"}
HELD_K_KJ_MOL_NM2 = 10_000.0
LIGAND_TETHER_K_KJ_MOL_NM2 = 500.0
TOLERANCE_KJ_MOL_NM = 5.0


def relax_complex(systems: ComplexSystems, platform: PlatformChoice, *,
                  side_chain_radius_angstrom: float = 6.0, max_iterations: int = 2000) -> np.ndarray:
    """Minimize the complex with backbone and distant atoms held, ligand tethered.

    Parameters
    ----------
    systems
        The complex (its current ``positions_nm`` are the start).
    platform
        OpenMM platform.
    side_chain_radius_angstrom
        Protein side-chain heavy atoms within this distance of any ligand heavy
        atom may move; everything else of the protein is held.
    max_iterations
        L-BFGS iteration limit (it usually converges well before).

    Returns
    -------
    numpy.ndarray
        Relaxed positions (nm), same atom order as ``systems.positions_nm``.
    """
    atoms = list(systems.topology.atoms())
    xyz = systems.positions_nm
    ligand = set(int(i) for i in systems.ligand_atoms)
    ligand_heavy = [i for i in ligand if atoms[i].element.symbol != "H"]
    near = cKDTree(xyz[ligand_heavy]).query(xyz, k=1)[0] * 10.0 <= side_chain_radius_angstrom
    held = [a.index for a in atoms if a.index not in ligand and a.element.symbol != "H"
            and (a.name in BACKBONE or not near[a.index])]
    system = openmm.XmlSerializer.clone(systems.complex_system)
    add_positional_restraints(system, held, xyz, HELD_K_KJ_MOL_NM2, parameter="k_held")
    add_positional_restraints(system, ligand_heavy, xyz, LIGAND_TETHER_K_KJ_MOL_NM2,
                              parameter="k_tether")
    context = create_context(system, openmm.VerletIntegrator(0.001), platform)
    context.setPositions(xyz * unit.nanometer)
    openmm.LocalEnergyMinimizer.minimize(context, TOLERANCE_KJ_MOL_NM, max_iterations)
    return context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)


def write_receptor_pdb(systems: ComplexSystems, positions_nm: np.ndarray, path) -> None:
    """The receptor part of the complex at ``positions_nm`` as a PDB (for PoseBusters)."""
    modeller = app.Modeller(systems.topology, positions_nm * unit.nanometer)
    ligand = set(int(i) for i in systems.ligand_atoms)
    modeller.delete([a for a in systems.topology.atoms() if a.index in ligand])
    with open(path, "w") as handle:
        app.PDBFile.writeFile(modeller.topology, modeller.positions, handle)


def ligand_with_positions(mol, ligand_xyz_nm: np.ndarray):
    """Copy of the posed RDKit ligand with new coordinates (nm in, Å in the conformer)."""
    from rdkit import Chem

    out = Chem.Mol(mol)
    conf = out.GetConformer()
    for i, p in enumerate(np.asarray(ligand_xyz_nm) * 10.0):
        conf.SetAtomPosition(i, p.tolist())
    return out
