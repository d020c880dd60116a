"""Tests of chem.properties: values, QED/SA ranges, alert catalogs, user SMARTS."""

import pytest
from rdkit import Chem
from rdkit.Chem import QED

from chem.properties import (PROPERTY_COLUMNS, compute_properties, find_alerts, match_smarts,
                             properties_frame, sa_score)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def test_aspirin_properties():
    p = compute_properties(Chem.MolFromSmiles(ASPIRIN))
    assert list(p) == PROPERTY_COLUMNS
    assert p["mw_da"] == pytest.approx(180.16, abs=0.01)
    assert p["clogp"] == pytest.approx(1.31, abs=0.01)
    assert p["tpsa_a2"] == pytest.approx(63.6, abs=0.1)
    assert (p["hbd"], p["hba"], p["rotatable_bonds"], p["heavy_atoms"], p["formal_charge"]) == \
        (1, 4, 2, 13, 0)


@pytest.mark.parametrize("smiles", [ASPIRIN, "CC[C@H](C)[C@@H](C(=O)NC1CCCCC1)N", "c1ccc2[nH]ccc2c1",
                                    "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl"])
def test_qed_matches_rdkit_and_is_in_range(smiles):
    mol = Chem.MolFromSmiles(smiles)
    p = compute_properties(mol)
    assert 0 < p["qed"] < 1 and p["qed"] == pytest.approx(QED.qed(mol), abs=1e-12)


def test_sa_score_range_and_order():
    easy = sa_score(Chem.MolFromSmiles(ASPIRIN))
    # A densely stereo-substituted bridged natural-product-like skeleton is harder.
    hard = sa_score(Chem.MolFromSmiles(
        "C[C@@H]1C[C@H]2[C@@H]3CC[C@@]4(C)[C@H](C[C@@H](O)[C@]4(O)C(=O)CO)[C@@H]3C[C@@H](F)C2=CC1=O"))
    assert 1 <= easy < 2.5 and easy < hard <= 10


def test_alert_catalogs():
    rhodanine = Chem.MolFromSmiles("S=C1SC(=Cc2ccccc2)C(=O)N1")
    assert ("PAINS_A", "ene_rhod_A(235)") in find_alerts(rhodanine, ["PAINS_A"])
    nitro = Chem.MolFromSmiles("O=[N+]([O-])c1ccc(C(=O)NCCc2ccccc2)cc1")
    assert ("BRENK", "nitro_group") in find_alerts(nitro, ["BRENK"])
    assert find_alerts(nitro, ["PAINS_A", "PAINS_B", "PAINS_C"]) == []
    with pytest.raises(KeyError):
        find_alerts(nitro, ["NOPE"])


def test_user_smarts_and_frame():
    mol = Chem.MolFromSmiles("CC(=O)Cl")
    assert match_smarts(mol, {"acyl_halide": "C(=O)[Cl,Br]", "thiol": "[SX2H]"}) == ["acyl_halide"]
    frame = properties_frame([ASPIRIN, "CCO"])
    assert list(frame.columns) == ["smiles"] + PROPERTY_COLUMNS and len(frame) == 2
