"""Scoring energy models: OBC2 rebuilt as a CustomGBForce equals the native force; GBn2, ε_in, salt act."""

from pathlib import Path

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as unit
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from simulation.gb_models import debye_kappa_per_nm, scoring_system
from simulation.ligand import parametrize_ligand
from simulation.platform import select_platform
from simulation.pocket import build_pocket
from simulation.scoring import FrameScorer
from simulation.system import PROTEIN_FORCE_FIELDS, add_implicit_solvent, build_complex_systems

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


@pytest.mark.parametrize("salt", [0.0, 0.15])
def test_gbn2_with_salt_equals_openmm_own_gbn2(pocket_system, salt):
    """Our GBn2 + Debye screening is OpenMM's implicit/gbn2.xml with the same kappa, to the last digit."""
    system, topology, xyz = pocket_system
    reference = app.ForceField(PROTEIN_FORCE_FIELDS[0], "implicit/gbn2.xml").createSystem(
        topology, nonbondedMethod=app.NoCutoff,
        implicitSolventKappa=debye_kappa_per_nm(salt, 300.0) / unit.nanometer)
    assert _energy(scoring_system(system, topology, model="GBn2", salt_molar=salt), xyz) == \
        pytest.approx(_energy(reference, xyz), rel=1e-6)


def _binding_salt_effect(protein, smiles: str, centre_A: np.ndarray) -> float:
    """Change of a ligand's GBn2 binding energy (kcal/mol) from 0 to 0.15 M salt, ligand at ``centre_A``."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    conformer = mol.GetConformer()
    xyz = conformer.GetPositions()
    xyz += centre_A - xyz.mean(axis=0)
    for i, point in enumerate(xyz):
        conformer.SetAtomPosition(i, point.tolist())
    pocket = build_pocket(protein, xyz / 10.0, radius_angstrom=6.0)
    systems = build_complex_systems(pocket, parametrize_ligand(mol), xyz / 10.0)
    platform = select_platform("CPU")
    bind = [FrameScorer(systems, platform, model=("GBn2", 1.0, salt)).score(systems.positions_nm)
            ["mmgbsa_kcal_mol"] for salt in (0.0, 0.15)]
    return bind[1] - bind[0]


def test_salt_reaches_the_binding_energy_of_a_charged_ligand(tyk2_protein):
    """Salt screens a charged ligand's interactions (the Tyk2 set is neutral: there it changes ~0.003 kcal/mol).

    Benzoate vs benzoic acid at the centre of the Tyk2 ligand site: an ignored
    salt concentration would give 0 for both.
    """
    site = next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))
    centre = site.GetConformer().GetPositions().mean(axis=0)
    charged = _binding_salt_effect(tyk2_protein, "[O-]C(=O)c1ccccc1", centre)
    neutral = _binding_salt_effect(tyk2_protein, "OC(=O)c1ccccc1", centre)
    assert abs(charged) > 0.3  # measured -0.80 kcal/mol
    assert abs(neutral) < 0.1 and abs(charged) > 10 * abs(neutral)  # measured -0.011
