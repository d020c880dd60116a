"""Ligand parametrization: NAGL charges, fallbacks, GAFF2 templates, clean failures."""

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from moltwin.errors import SimulationError
from simulation.ligand import mmff94_charges, parametrize_ligand

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"


def _embedded(smiles: str) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=7) == 0
    return mol


@pytest.fixture(scope="module")
def ejm31():
    return next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))


def test_nagl_charges_and_gaff_template(ejm31):
    params = parametrize_ligand(ejm31)
    assert params.charge_method == "nagl" and not params.notes
    assert params.charges.shape == (ejm31.GetNumAtoms(),)
    assert params.charges.sum() == pytest.approx(0.0, abs=1e-6)
    assert np.abs(params.charges).max() < 1.5 and np.abs(params.charges).min() >= 0
    # amide O is negative, its carbonyl C positive (AM1-BCC-like)
    assert params.charges[[a.GetIdx() for a in ejm31.GetAtoms() if a.GetSymbol() == "O"]].max() < -0.3
    assert "<Residue" in params.ffxml and 'type="' in params.ffxml
    # the pose stays the molecule's conformer (the generator worked on a copy)
    xyz = params.molecule.conformers[0].m_as("angstrom")
    assert np.allclose(xyz, ejm31.GetConformer().GetPositions(), atol=1e-4)


def test_charged_ligand_sums_to_formal_charge():
    params = parametrize_ligand(_embedded("C[NH3+]"))
    assert params.formal_charge == 1
    assert params.charges.sum() == pytest.approx(1.0, abs=1e-6)


def test_failed_nagl_falls_back_to_mmff94(ejm31):
    params = parametrize_ligand(ejm31, charge_methods=("nagl", "mmff94"),
                                nagl_model="no-such-model.pt")
    assert params.charge_method == "mmff94"
    assert params.notes and params.notes[0].startswith("nagl:")
    assert np.allclose(params.charges, mmff94_charges(ejm31), atol=1e-6)


def test_boron_fails_cleanly():
    with pytest.raises(SimulationError) as info:
        parametrize_ligand(_embedded("OB(O)c1ccccc1"))
    assert info.value.reason_code == "unsupported_element"


def test_every_charge_method_failing_is_a_simulation_error(ejm31):
    with pytest.raises(SimulationError) as info:
        parametrize_ligand(ejm31, charge_methods=("nagl",), nagl_model="no-such-model.pt")
    assert info.value.reason_code == "charge_assignment_failed"


@pytest.mark.slow
def test_am1bcc_via_sqm_agrees_with_nagl(ejm31):
    sqm = parametrize_ligand(ejm31, charge_methods=("am1bcc",))
    nagl = parametrize_ligand(ejm31)
    assert sqm.charge_method == "am1bcc"
    assert np.abs(sqm.charges - nagl.charges).max() < 0.1


def test_nagl_time_limit_falls_back_and_recovers(ejm31):
    # NAGL runs in a helper process: an overrun kills it and the next method is used ...
    slow = parametrize_ligand(ejm31, charge_methods=("nagl", "mmff94"), nagl_timeout_s=1e-3)
    assert slow.charge_method == "mmff94"
    assert "did not finish within" in slow.notes[0]
    # ... and the next call starts a fresh helper
    assert parametrize_ligand(ejm31).charge_method == "nagl"
