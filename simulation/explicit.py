"""Explicit solvent: put the whole complex in a TIP3P box with NaCl, PME and a barostat.

The high-fidelity mode. amber14 ff14SB + TIP3P (Joung–Cheatham ions from
``amber14/tip3p.xml``) + GAFF2 for the ligand; PME electrostatics, H-bond
constraints and rigid water, hydrogen mass repartitioning (water excluded by
OpenMM) so that LangevinMiddle can take 4 fs steps, and a Monte Carlo
barostat for NPT. The box is a cube with ``box_padding_nm`` of water around
the complex, neutralized and brought to ``ionic_strength_molar`` NaCl.

Only the whole protein can be solvated (see
:mod:`simulation.settings`); MM/GBSA for explicit runs is computed on each
frame with the solvent stripped, by the GB systems of the complex
(:class:`simulation.system.ComplexSystems`).
"""

from __future__ import annotations

import logging

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit

from moltwin.errors import SimulationError
from simulation.ligand import LigandParameters
from simulation.reproducible import fixed_python_random
from simulation.settings import SimulationSettings
from simulation.system import ComplexSystems, DynamicsSystem, complex_forcefield

log = logging.getLogger(__name__)

WATER_MODEL = "tip3p"
EWALD_ERROR_TOLERANCE = 5e-4


def check_box(solute_xyz_nm: np.ndarray, padding_nm: float, cutoff_nm: float) -> float:
    """Edge of the cubic box around a solute; raise ``box_too_small`` when it cannot work.

    Two conditions, both about periodic images: an image of the complex must
    stay farther than the cutoff from the complex itself (2 x padding >= cutoff,
    otherwise the protein feels its own copy), and the box must be at least
    twice the cutoff (OpenMM's minimum-image requirement).

    Parameters
    ----------
    solute_xyz_nm
        Coordinates of the complex (nm).
    padding_nm
        Water between the complex and each box face.
    cutoff_nm
        Real-space nonbonded cutoff.

    Returns
    -------
    float
        Box edge in nm (the solute's largest extent plus twice the padding).
    """
    xyz = np.asarray(solute_xyz_nm, dtype=float)
    # OpenMM sizes a padded cube on the solute's largest interatomic span, bounded
    # here by the diagonal of its bounding box (the exact value needs O(N^2)).
    extent = float(np.linalg.norm(xyz.max(axis=0) - xyz.min(axis=0)))
    edge = extent + 2.0 * padding_nm
    if 2.0 * padding_nm < cutoff_nm:
        raise SimulationError(
            "box_too_small", f"box padding {padding_nm:g} nm leaves periodic images of the complex "
            f"{2 * padding_nm:g} nm apart, less than the {cutoff_nm:g} nm cutoff: the protein "
            f"would interact with its own copy (use box_padding_nm >= {cutoff_nm / 2:g})")
    if edge < 2.0 * cutoff_nm:
        raise SimulationError("box_too_small", f"box edge {edge:.2f} nm is less than twice the "
                              f"{cutoff_nm:g} nm cutoff")
    return edge


def solvate_complex(systems: ComplexSystems, ligand: LigandParameters,
                    settings: SimulationSettings) -> DynamicsSystem:
    """Solvate the complex of ``systems`` and build its periodic system.

    Parameters
    ----------
    systems
        GB systems of the whole-protein complex (their topology and positions are
        solvated; they remain the MM/GBSA scorer's systems).
    ligand
        The parametrized ligand (its template joins the force field).
    settings
        Padding, ionic strength, cutoff, pressure, temperature, hydrogen mass.

    Returns
    -------
    DynamicsSystem
        Complex atoms first (same order as ``systems.topology``), then water and ions.

    Raises
    ------
    moltwin.errors.SimulationError
        ``box_too_small`` (see :func:`check_box`) or ``template_mismatch``.
    """
    check_box(systems.positions_nm, settings.box_padding_nm, settings.nonbonded_cutoff_nm)
    forcefield = complex_forcefield(ligand)
    modeller = app.Modeller(systems.topology, systems.positions_nm * unit.nanometer)
    try:
        with fixed_python_random(settings.seed):
            modeller.addSolvent(forcefield, model=WATER_MODEL,
                                padding=settings.box_padding_nm * unit.nanometer,
                                ionicStrength=settings.ionic_strength_molar * unit.molar,
                                positiveIon="Na+", negativeIon="Cl-", neutralize=True)
        system = forcefield.createSystem(
            modeller.topology, nonbondedMethod=app.PME,
            nonbondedCutoff=settings.nonbonded_cutoff_nm * unit.nanometer,
            constraints=app.HBonds, rigidWater=True, ewaldErrorTolerance=EWALD_ERROR_TOLERANCE,
            hydrogenMass=settings.hydrogen_mass_amu * unit.amu)
    except ValueError as exc:  # "No template found for residue ..."
        raise SimulationError("template_mismatch", str(exc).splitlines()[0]) from exc
    system.addForce(openmm.MonteCarloBarostat(settings.pressure_bar * unit.bar,
                                              settings.temperature_kelvin * unit.kelvin,
                                              settings.barostat_interval_steps))
    box = np.asarray([v.value_in_unit(unit.nanometer)
                      for v in modeller.topology.getPeriodicBoxVectors()], dtype=float)
    if box.diagonal().min() < 2.0 * settings.nonbonded_cutoff_nm:
        raise SimulationError("box_too_small", f"box edge {box.diagonal().min():.2f} nm is less "
                              f"than twice the {settings.nonbonded_cutoff_nm:g} nm cutoff")
    positions = np.asarray(modeller.positions.value_in_unit(unit.nanometer), dtype=float)
    n_solute = systems.topology.getNumAtoms()
    log.info("solvated complex: %d atoms (%d solute), box %.2f nm", len(positions), n_solute,
             box[0, 0])
    return DynamicsSystem(system, modeller.topology, positions, n_solute, box)


def count_solvent(dynamics: DynamicsSystem) -> dict:
    """Numbers of water molecules and Na+/Cl- ions in a solvated system."""
    names = [r.name for r in dynamics.topology.residues()]
    return {"n_waters": names.count("HOH"), "n_na": names.count("NA"), "n_cl": names.count("CL")}
