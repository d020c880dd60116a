"""Per-frame scoring: MM/GBSA energy terms, ligand RMSD and contacts.

Single-trajectory MM/GBSA: the receptor and ligand energies are evaluated on
coordinates taken from the complex frame, so bonded terms cancel exactly and
ΔG_bind ≈ E_complex − E_receptor − E_ligand (gas-phase MM + GB + surface
term; no entropy). Restraints are excluded (they are in force group 1).
In explicit solvent the frame's complex atoms are scored the same way, with
water and ions stripped. The ligand RMSD is measured in the protein's frame:
without fitting when restraints hold the protein in place (implicit), after
superposing the protein CA atoms on the start when nothing does (explicit).
"""

from __future__ import annotations

import numpy as np
import openmm
import openmm.unit as unit
from scipy.spatial import cKDTree

from simulation.gb_models import scoring_system
from simulation.platform import PlatformChoice, create_context
from simulation.system import ComplexSystems

NATIVE_MODEL = ("OBC2", 1.0, 0.0)  # what the dynamics run with

KJ_PER_KCAL = 4.184
CONTACT_CUTOFF_NM = 0.4


def _energy_context(system: openmm.System, platform: PlatformChoice) -> openmm.Context:
    return create_context(system, openmm.VerletIntegrator(0.001), platform)


def superpose(mobile: np.ndarray, target: np.ndarray):
    """Least-squares rigid fit (Kabsch) of ``mobile`` onto ``target``.

    Returns
    -------
    callable
        Applies the fitted rotation and translation to any (n, 3) array.
    """
    mobile_c, target_c = mobile.mean(axis=0), target.mean(axis=0)
    u, _, vt = np.linalg.svd((mobile - mobile_c).T @ (target - target_c))
    sign = np.sign(np.linalg.det(vt.T @ u.T))  # no reflections
    rotation = vt.T @ np.diag([1.0, 1.0, sign]) @ u.T
    return lambda xyz: (xyz - mobile_c) @ rotation.T + target_c


def _energy(context: openmm.Context, positions_nm: np.ndarray) -> float:
    context.setPositions(positions_nm * unit.nanometer)
    state = context.getState(getEnergy=True, groups={0})
    return state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


class FrameScorer:
    """Scores complex frames: energies for MM/GBSA, ligand heavy-atom RMSD, contacts.

    Parameters
    ----------
    systems
        The complex, receptor and ligand systems; the reference pose for the
        RMSD is ``systems.positions_nm`` (the input pose, before minimization).
    platform
        Platform for the small energy contexts.
    fit_rmsd
        Superpose the protein's CA atoms on the start before the ligand RMSD.
    model
        (GB model, solute dielectric, salt molar) of the MM/GBSA energies
        (:mod:`simulation.gb_models`); the native OBC2 of the dynamics by default.
    """

    def __init__(self, systems: ComplexSystems, platform: PlatformChoice,
                 fit_rmsd: bool = False, model: tuple = NATIVE_MODEL) -> None:
        atoms = list(systems.topology.atoms())
        heavy = np.array([a.element.symbol != "H" for a in atoms])
        self._ligand = systems.ligand_atoms
        self._receptor = systems.receptor_atoms
        self._ligand_heavy = systems.ligand_atoms[heavy[systems.ligand_atoms]]
        self._receptor_heavy = systems.receptor_atoms[heavy[systems.receptor_atoms]]
        self._reference = systems.positions_nm[self._ligand_heavy].copy()
        receptor = set(self._receptor.tolist())
        self._fit_atoms = (np.array([a.index for a in atoms if a.name == "CA" and a.index
                                     in receptor]) if fit_rmsd else None)
        if self._fit_atoms is not None:
            self._fit_reference = systems.positions_nm[self._fit_atoms].copy()
        self.model = tuple(model)
        self._native = self.model == NATIVE_MODEL
        receptor_system, ligand_system = systems.receptor_system, systems.ligand_system
        self._complex_system = systems.complex_system
        if not self._native:
            def rescored(system, keep):
                return scoring_system(system, _sub_topology(systems, keep), model=model[0],
                                      solute_dielectric=model[1], salt_molar=model[2])
            receptor_system = rescored(receptor_system, self._receptor)
            ligand_system = rescored(ligand_system, self._ligand)
            self._complex_system = rescored(systems.complex_system, None)
        self._receptor_ctx = _energy_context(receptor_system, platform)
        self._ligand_ctx = _energy_context(ligand_system, platform)
        self._complex_ctx = None
        self._platform = platform

    def ligand_rmsd_angstrom(self, positions_nm: np.ndarray) -> float:
        """Heavy-atom RMSD of the ligand to its input pose in the protein's frame (Å)."""
        ligand = positions_nm[self._ligand_heavy]
        if self._fit_atoms is not None and len(self._fit_atoms) >= 3:
            ligand = superpose(positions_nm[self._fit_atoms], self._fit_reference)(ligand)
        diff = ligand - self._reference
        return float(np.sqrt((diff ** 2).sum(axis=1).mean()) * 10.0)

    def n_contacts(self, positions_nm: np.ndarray) -> int:
        """Ligand–protein heavy-atom pairs closer than 4 Å."""
        tree = cKDTree(positions_nm[self._receptor_heavy])
        hits = tree.query_ball_point(positions_nm[self._ligand_heavy], CONTACT_CUTOFF_NM)
        return int(sum(len(h) for h in hits))

    def score(self, positions_nm: np.ndarray, complex_energy_kj_mol: float | None = None) -> dict:
        """All per-frame metrics for one complex frame (positions in nm).

        ``complex_energy_kj_mol`` may be passed when the caller already has the
        group-0 energy of the complex, saving one evaluation (ignored when the
        scoring model is not the dynamics' native OBC2).
        """
        if complex_energy_kj_mol is None or not self._native:
            if self._complex_ctx is None:
                self._complex_ctx = _energy_context(self._complex_system, self._platform)
            complex_energy_kj_mol = _energy(self._complex_ctx, positions_nm)
        e_rec = _energy(self._receptor_ctx, positions_nm[self._receptor])
        e_lig = _energy(self._ligand_ctx, positions_nm[self._ligand])
        return {
            "ligand_rmsd_A": self.ligand_rmsd_angstrom(positions_nm),
            "n_contacts": self.n_contacts(positions_nm),
            "e_complex_kj_mol": complex_energy_kj_mol,
            "e_receptor_kj_mol": e_rec,
            "e_ligand_kj_mol": e_lig,
            "mmgbsa_kcal_mol": (complex_energy_kj_mol - e_rec - e_lig) / KJ_PER_KCAL,
        }


def _sub_topology(systems: ComplexSystems, keep):
    """Topology of the atoms ``keep`` of the complex (all atoms when None), for GB radii."""
    import openmm.app as app

    if keep is None:
        return systems.topology
    keep_set = set(int(i) for i in keep)
    modeller = app.Modeller(systems.topology, systems.positions_nm * unit.nanometer)
    modeller.delete([a for a in systems.topology.atoms() if a.index not in keep_set])
    return modeller.topology
