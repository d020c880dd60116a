"""Protein preparation (PDBFixer, cached) and pocket cutting on the real Tyk2 complex."""

from pathlib import Path

import numpy as np
import openmm.app as app
import pytest
from rdkit import Chem

from moltwin.errors import BadInputError
from simulation.pocket import build_pocket
from simulation.protein import prepare_protein

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"


@pytest.fixture(scope="module")
def protein(tyk2_protein):
    return tyk2_protein


@pytest.fixture(scope="module")
def ejm31_xyz_nm():
    mol = next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))
    assert mol.GetProp("_Name") == "ejm_31"
    return mol.GetConformer().GetPositions() / 10.0


@pytest.fixture(scope="module")
def pocket(protein, ejm31_xyz_nm):
    return build_pocket(protein, ejm31_xyz_nm, radius_angstrom=8.0)


def test_preparation_keeps_caps_and_is_cached(protein):
    names = [r.name for r in protein.topology.residues()]
    assert names[0] == "ACE" and names[-1] == "NME"  # PDBFixer alone would drop them
    assert protein.topology.getNumAtoms() == 4670
    again = prepare_protein(DATA / "protein.pdb", cache_dir=protein.path.parent)
    assert again.path == protein.path and protein.path.is_file()
    assert np.allclose(again.positions_nm, protein.positions_nm, atol=1e-3)


def test_missing_protein_file_raises(tmp_path):
    with pytest.raises(BadInputError):
        prepare_protein(tmp_path / "nope.pdb")


def test_pocket_is_small_capped_and_templates_match(protein, pocket):
    assert pocket.mode == "pocket"
    assert pocket.topology.getNumAtoms() < 0.3 * protein.topology.getNumAtoms()
    for chain in pocket.topology.chains():
        residues = [r.name for r in chain.residues()]
        assert residues[0] == "ACE" and residues[-1] == "NME", residues
    assert pocket.n_caps == 2 * pocket.topology.getNumChains()
    forcefield = app.ForceField("amber14/protein.ff14SB.xml")
    system = forcefield.createSystem(pocket.topology, nonbondedMethod=app.NoCutoff)
    assert system.getNumParticles() == pocket.topology.getNumAtoms()


def test_caps_reuse_neighbour_backbone_coordinates(protein, pocket):
    source = {(r.id, a.name): protein.positions_nm[a.index]
              for r in protein.topology.residues() for a in r.atoms()}
    for residue in pocket.topology.residues():
        atoms = {a.name: pocket.positions_nm[a.index] for a in residue.atoms()}
        if residue.name == "ACE":
            assert np.allclose(atoms["CH3"], source[(residue.id, "CA")])
            assert np.allclose(atoms["C"], source[(residue.id, "C")])
        elif residue.name == "NME":
            assert np.allclose(atoms["N"], source[(residue.id, "N")])
            assert np.allclose(atoms["C"], source[(residue.id, "CA")])


def test_restraints_cover_caps_and_spare_the_binding_site(pocket, ejm31_xyz_nm):
    restrained = set(pocket.restrained_atoms)
    cap_heavy = [a.index for a in pocket.topology.atoms()
                 if a.residue.name in ("ACE", "NME") and a.element.symbol != "H"]
    assert set(cap_heavy) <= restrained
    dist = np.linalg.norm(pocket.positions_nm[:, None] - ejm31_xyz_nm[None], axis=2).min(axis=1)
    near = np.flatnonzero(dist < 0.35)
    assert near.size and not restrained & set(near.tolist())


def test_whole_protein_mode(protein, ejm31_xyz_nm):
    whole = build_pocket(protein, ejm31_xyz_nm, radius_angstrom=None)
    assert whole.mode == "whole" and whole.n_caps == 0
    assert whole.topology.getNumAtoms() == protein.topology.getNumAtoms()
    assert 0 < len(whole.restrained_atoms) < whole.topology.getNumAtoms()


def test_pocket_build_is_repeatable_and_leaves_global_random_alone(protein, pocket, ejm31_xyz_nm):
    # Modeller.addHydrogens jitters new hydrogens with Python's global random: seeded per build
    import random

    random.seed(7)
    expected_next = random.random()
    random.seed(7)
    again = build_pocket(protein, ejm31_xyz_nm, radius_angstrom=8.0)
    assert random.random() == expected_next  # the caller's random stream is untouched
    assert np.array_equal(again.positions_nm, pocket.positions_nm)
