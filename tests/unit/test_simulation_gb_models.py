"""Scoring energy models: OBC2 rebuilt as a CustomGBForce equals the native force; GBn2, ε_in, salt act."""

from pathlib import Path

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest
from rdkit import Chem

from simulation.gb_models import debye_kappa_per_nm, scoring_system
from simulation.pocket import build_pocket
from simulation.system import PROTEIN_FORCE_FIELDS, add_implicit_solvent

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"


@pytest.fixture(scope="module")
def pocket_system(tyk2_protein):
    mol = next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))
    pocket = build_pocket(tyk2_protein, mol.GetConformer().GetPositions() / 10.0, radius_angstrom=5.0)
    system = app.ForceField(*PROTEIN_FORCE_FIELDS).createSystem(pocket.topology,
                                                                 nonbondedMethod=app.NoCutoff)
    add_implicit_solvent(system, pocket.topology)
    return system, pocket.topology, pocket.positions_nm


def _energy(system, xyz):
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    ctx.setPositions(xyz * unit.nanometer)
    return ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


def test_obc2_scoring_system_reproduces_the_native_force(pocket_system):
    system, topology, xyz = pocket_system
    assert _energy(scoring_system(system, topology, model="OBC2"), xyz) == pytest.approx(
        _energy(system, xyz), rel=1e-4, abs=0.5)


def test_gbn2_dielectric_and_salt_change_the_energy(pocket_system):
    system, topology, xyz = pocket_system
    base = _energy(scoring_system(system, topology, model="OBC2"), xyz)
    for kwargs in ({"model": "GBn2"}, {"solute_dielectric": 4.0}, {"salt_molar": 0.15}):
        assert abs(_energy(scoring_system(system, topology, **kwargs), xyz) - base) > 1.0
    # 1/7.9 Å (the Debye length at 0.15 M) times Amber's 0.73 ion-exclusion factor
    assert debye_kappa_per_nm(0.15, 300.0) == pytest.approx(0.927, abs=0.005)
    assert debye_kappa_per_nm(0.0, 300.0) == 0.0
