"""Energy models for MM/GBSA scoring: GB variant, solute dielectric and salt.

Dynamics always run with OpenMM's native ``GBSAOBCForce`` (OBC2, mbondi2; the
fastest GB kernel on a CPU). Scoring may use another model on the same
coordinates: the system is cloned, its GB force replaced and, for a solute
dielectric ε_in > 1, its Coulomb interactions scaled by 1/ε_in (charges by
1/sqrt(ε_in), exception charge products by 1/ε_in) — Amber's ``intdiel``, so
that ε_in applies to the gas-phase electrostatics as well as to the GB term.

* ``OBC2``: Onufriev, Bashford & Case, Proteins 2004, 55, 383 (igb=5, mbondi2).
* ``GBn2``: Nguyen, Roe & Simmerling, J. Chem. Theory Comput. 2013, 9, 2020
  (igb=8, mbondi3 radii), OpenMM's ``GBSAGBn2Force``.
* Salt enters as a Debye–Hückel screening ``kappa`` (OpenMM/Amber: the inverse Debye
  length times 0.73 for ion exclusion,
  367.434915 * sqrt(I / (ε_solvent * T)) nm⁻¹).

Both GB models carry the ACE non-polar surface term.
"""

from __future__ import annotations

import math
from typing import Literal

import openmm
import openmm.app as app
import openmm.unit as unit

GBModel = Literal["OBC2", "GBn2"]
SOLVENT_DIELECTRIC = 78.5


def debye_kappa_per_nm(salt_molar: float, temperature_kelvin: float,
                       solvent_dielectric: float = SOLVENT_DIELECTRIC) -> float:
    """Inverse Debye length (nm⁻¹) of a 1:1 salt, as OpenMM's ``createSystem`` computes it."""
    if salt_molar <= 0:
        return 0.0
    return 367.434915 * math.sqrt(salt_molar / (solvent_dielectric * temperature_kelvin))


def _gb_class(model: GBModel):
    from openmm.app.internal.customgbforces import GBSAGBn2Force, GBSAOBC2Force

    return {"OBC2": GBSAOBC2Force, "GBn2": GBSAGBn2Force}[model]


def scoring_system(system: openmm.System, topology: app.Topology, *, model: GBModel = "OBC2",
                   solute_dielectric: float = 1.0, salt_molar: float = 0.0,
                   temperature_kelvin: float = 300.0) -> openmm.System:
    """A copy of ``system`` whose solvation and electrostatics follow the chosen model.

    Parameters
    ----------
    system
        A system built by :mod:`simulation.system` (NonbondedForce + GBSAOBCForce).
    topology
        Its topology (for the GB radii).
    model
        ``OBC2`` or ``GBn2``.
    solute_dielectric
        Interior dielectric ε_in (scales Coulomb by 1/ε_in and enters the GB term).
    salt_molar
        Ionic strength for Debye–Hückel screening in the GB term.
    temperature_kelvin
        Temperature for the screening length.

    Returns
    -------
    openmm.System
        The same particles and bonded terms, the new GB force in group 0.
    """
    out = openmm.XmlSerializer.clone(system)
    for index in reversed(range(out.getNumForces())):
        if isinstance(out.getForce(index), (openmm.GBSAOBCForce, openmm.CustomGBForce)):
            out.removeForce(index)
    nonbonded = next(f for f in out.getForces() if isinstance(f, openmm.NonbondedForce))
    charges = [nonbonded.getParticleParameters(i)[0] for i in range(out.getNumParticles())]
    if solute_dielectric != 1.0:
        scale = 1.0 / math.sqrt(solute_dielectric)
        for i, charge in enumerate(charges):
            _, sigma, epsilon = nonbonded.getParticleParameters(i)
            nonbonded.setParticleParameters(i, charge * scale, sigma, epsilon)
        for k in range(nonbonded.getNumExceptions()):
            i, j, qq, sigma, epsilon = nonbonded.getExceptionParameters(k)
            nonbonded.setExceptionParameters(k, i, j, qq / solute_dielectric, sigma, epsilon)
    cls = _gb_class(model)
    kappa = debye_kappa_per_nm(salt_molar, temperature_kelvin)
    gb = cls(solventDielectric=SOLVENT_DIELECTRIC, soluteDielectric=solute_dielectric, SA="ACE",
             cutoff=None, kappa=kappa)
    for charge, params in zip(charges, cls.getStandardParameters(topology)):
        gb.addParticle([charge.value_in_unit(unit.elementary_charge), *params])
    gb.finalize()
    gb.setForceGroup(0)
    out.addForce(gb)
    return out
