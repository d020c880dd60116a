"""Assemble OpenMM systems for the complex, the receptor and the ligand.

Force fields: amber14 ff14SB for the protein, GAFF2 (+ our charges) for the
ligand, no cutoff, H-bond constraints, hydrogen mass repartitioning. The
solvent is implicit: OpenMM's native ``GBSAOBCForce`` (OBC2, Amber igb=5),
whose CPU kernel is about four times faster than the CustomGBForce built by
``implicit/obc2.xml``. Positional restraints live in force group 1 so that
energies for MM/GBSA (group 0) never include them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit

from moltwin.errors import SimulationError
from simulation.ligand import LigandParameters
from simulation.pocket import ProteinModel

PROTEIN_FORCE_FIELDS = ("amber14/protein.ff14SB.xml", "amber14/tip3p.xml")
LIGAND_RESIDUE = "LIG"
RESTRAINT_GROUP = 1
SOLVENT_DIELECTRIC = 78.5
SOLUTE_DIELECTRIC = 1.0

# mbondi2 intrinsic Born radii in Å (Onufriev, Bashford & Case, Proteins 2004, 55, 383;
# Amber "set default PBradii mbondi2"): H on N 1.3, other H 1.2, C 1.7, N 1.55,
# O 1.5, F 1.5, Si 2.1, P 1.85, S 1.8, Cl 1.7; anything else 1.5.
_MBONDI2_RADII_A = {"C": 1.7, "N": 1.55, "O": 1.5, "F": 1.5, "Si": 2.1, "P": 1.85, "S": 1.8,
                    "Cl": 1.7}
_DEFAULT_RADIUS_A = 1.5
# Hawkins–Cramer–Truhlar descreening scale factors as used by Amber's OBC models
# (Hawkins, Cramer & Truhlar, J. Phys. Chem. 1996, 100, 19824; Amber tleap defaults).
_OBC_SCALE = {"H": 0.85, "C": 0.72, "N": 0.79, "O": 0.85, "F": 0.88, "P": 0.86, "S": 0.96}
_DEFAULT_SCALE = 0.8


@dataclass(slots=True)
class ComplexSystems:
    """Systems for MD (complex) and for MM/GBSA scoring (receptor, ligand).

    Attributes
    ----------
    topology, positions_nm
        The complex: protein model first, then the ligand (one residue ``LIG``).
    complex_system
        Complex with GB solvent and restraints (group 1), HMR masses.
    receptor_system, ligand_system
        Protein-only and ligand-only systems with GB solvent, no restraints.
    ligand_atoms, receptor_atoms
        Indices of each part in the complex.
    restrained_atoms
        Protein atoms held by the boundary restraints (complex indices).
    """

    topology: app.Topology
    positions_nm: np.ndarray
    complex_system: openmm.System
    receptor_system: openmm.System
    ligand_system: openmm.System
    ligand_atoms: np.ndarray
    receptor_atoms: np.ndarray
    restrained_atoms: list[int]


def gb_parameters(topology: app.Topology) -> list[tuple[float, float]]:
    """(radius nm, scale factor) per atom: mbondi2 radii, HCT/OBC scale factors."""
    bonded: dict = {}
    for a, b in topology.bonds():
        bonded.setdefault(a.index, []).append(b)
        bonded.setdefault(b.index, []).append(a)
    params = []
    for atom in topology.atoms():
        symbol = atom.element.symbol if atom.element is not None else ""
        if symbol in ("H", "D"):
            partners = bonded.get(atom.index, [])
            on_n = bool(partners) and partners[0].element.symbol == "N"
            radius = 1.3 if on_n else 1.2
            scale = _OBC_SCALE["H"]
        else:
            radius = _MBONDI2_RADII_A.get(symbol, _DEFAULT_RADIUS_A)
            scale = _OBC_SCALE.get(symbol, _DEFAULT_SCALE)
        params.append((radius / 10.0, scale))
    return params


def add_implicit_solvent(system: openmm.System, topology: app.Topology) -> openmm.GBSAOBCForce:
    """Add a native OBC2 ``GBSAOBCForce`` using the NonbondedForce charges."""
    nonbonded = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    gb = openmm.GBSAOBCForce()
    gb.setNonbondedMethod(openmm.GBSAOBCForce.NoCutoff)
    gb.setSolventDielectric(SOLVENT_DIELECTRIC)
    gb.setSoluteDielectric(SOLUTE_DIELECTRIC)
    for i, (radius, scale) in enumerate(gb_parameters(topology)):
        charge = nonbonded.getParticleParameters(i)[0]
        gb.addParticle(charge, radius, scale)
    system.addForce(gb)
    return gb


def add_positional_restraints(system: openmm.System, atoms, positions_nm: np.ndarray,
                              k_kj_mol_nm2: float, parameter: str = "k_boundary"):
    """Harmonic restraints of ``atoms`` to their positions; strength is a global parameter.

    Periodic systems use the minimum-image distance (atoms may be wrapped into
    the box); non-periodic ones the plain distance, since periodicdistance()
    would wrap with OpenMM's default 2 nm box.
    """
    if system.usesPeriodicBoundaryConditions():
        expression = f"0.5*{parameter}*periodicdistance(x,y,z,x0,y0,z0)^2"
    else:
        expression = f"0.5*{parameter}*((x-x0)^2+(y-y0)^2+(z-z0)^2)"
    force = openmm.CustomExternalForce(expression)
    force.addGlobalParameter(parameter, k_kj_mol_nm2)
    for name in ("x0", "y0", "z0"):
        force.addPerParticleParameter(name)
    for i in atoms:
        force.addParticle(int(i), [float(v) for v in positions_nm[i]])
    force.setForceGroup(RESTRAINT_GROUP)
    system.addForce(force)
    return force


@dataclass(slots=True)
class DynamicsSystem:
    """What the integrator moves: the complex alone (implicit) or the solvated box (explicit).

    Attributes
    ----------
    system, topology, positions_nm
        The simulated system; the complex (protein, then ligand) comes first.
    n_solute_atoms
        Atoms of the complex; the rest are water and ions.
    box_vectors_nm
        3x3 periodic box vectors for explicit solvent, None for implicit.
    """

    system: openmm.System
    topology: app.Topology
    positions_nm: np.ndarray
    n_solute_atoms: int
    box_vectors_nm: np.ndarray | None = None

    @property
    def periodic(self) -> bool:
        return self.box_vectors_nm is not None

    @classmethod
    def implicit(cls, systems: "ComplexSystems") -> "DynamicsSystem":
        """The GB complex of ``systems`` as the simulated system."""
        return cls(systems.complex_system, systems.topology, systems.positions_nm,
                   systems.topology.getNumAtoms())


def complex_forcefield(ligand: LigandParameters) -> app.ForceField:
    """amber14 ff14SB + TIP3P (with its ions) + this ligand's GAFF2 template."""
    return _forcefield(ligand)


def _forcefield(ligand: LigandParameters) -> app.ForceField:
    forcefield = app.ForceField(*PROTEIN_FORCE_FIELDS)
    forcefield.loadFile(io.StringIO(ligand.ffxml))
    return forcefield


def _create(forcefield, topology, hydrogen_mass_amu: float) -> openmm.System:
    system = forcefield.createSystem(topology, nonbondedMethod=app.NoCutoff,
                                     constraints=app.HBonds, rigidWater=True,
                                     removeCMMotion=False,  # restraints fix the frame
                                     hydrogenMass=hydrogen_mass_amu * unit.amu)
    add_implicit_solvent(system, topology)
    return system


def _subset(topology: app.Topology, positions_nm: np.ndarray, keep: np.ndarray):
    modeller = app.Modeller(topology, positions_nm * unit.nanometer)
    keep_set = set(int(i) for i in keep)
    modeller.delete([a for a in topology.atoms() if a.index not in keep_set])
    return modeller.topology


def build_complex_systems(protein: ProteinModel, ligand: LigandParameters,
                          ligand_xyz_nm: np.ndarray, *, hydrogen_mass_amu: float = 3.0,
                          restraint_k_kj_mol_nm2: float = 1000.0) -> ComplexSystems:
    """Combine protein model and ligand; build complex, receptor and ligand systems.

    Parameters
    ----------
    protein
        Pocket or whole protein (from :func:`simulation.pocket.build_pocket`).
    ligand
        Parametrized ligand; its atom order matches ``ligand_xyz_nm``.
    ligand_xyz_nm
        Ligand coordinates (nm), shape (n_ligand_atoms, 3).
    hydrogen_mass_amu
        Hydrogen mass after repartitioning (enables 4 fs steps).
    restraint_k_kj_mol_nm2
        Force constant of the boundary restraints.

    Returns
    -------
    ComplexSystems

    Raises
    ------
    moltwin.errors.SimulationError
        ``template_mismatch`` when a residue matches no force-field template.
    """
    lig_top = ligand.molecule.to_topology().to_openmm()
    for residue in lig_top.residues():
        residue.name = LIGAND_RESIDUE
    modeller = app.Modeller(protein.topology, protein.positions_nm * unit.nanometer)
    modeller.add(lig_top, np.asarray(ligand_xyz_nm) * unit.nanometer)
    topology = modeller.topology
    positions = np.asarray(modeller.positions.value_in_unit(unit.nanometer), dtype=float)
    n_protein = protein.topology.getNumAtoms()
    ligand_atoms = np.arange(n_protein, topology.getNumAtoms())
    receptor_atoms = np.arange(n_protein)
    forcefield = _forcefield(ligand)
    try:
        complex_system = _create(forcefield, topology, hydrogen_mass_amu)
        receptor_system = _create(forcefield, protein.topology, hydrogen_mass_amu)
        ligand_system = _create(forcefield, _subset(topology, positions, ligand_atoms),
                                hydrogen_mass_amu)
    except ValueError as exc:  # OpenMM: "No template found for residue ..."
        raise SimulationError("template_mismatch", str(exc).splitlines()[0]) from exc
    if protein.restrained_atoms and restraint_k_kj_mol_nm2 > 0:
        add_positional_restraints(complex_system, protein.restrained_atoms, positions,
                                  restraint_k_kj_mol_nm2)
    return ComplexSystems(topology, positions, complex_system, receptor_system, ligand_system,
                          ligand_atoms, receptor_atoms, list(protein.restrained_atoms))
