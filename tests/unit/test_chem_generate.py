"""Tests of chem.generate (R groups, series decomposition) and chem.candidates (ids)."""

import json
from pathlib import Path

import pytest
from rdkit import Chem

from chem.generate import (decompose_series, enumerate_rgroups, enumerate_series_analogs,
                           generate_candidates, load_substituents)
from chem.settings import GenerateSettings
from moltwin.errors import BadInputError

ROOT = Path(__file__).resolve().parents[2]
TYK2_CORE = "O=C(Nc1ccnc(NC(=O)[*:1])c1)[*:2]"


@pytest.fixture(scope="module")
def tyk2_series():
    mols = Chem.SDMolSupplier(str(ROOT / "data" / "tyk2" / "ligands.sdf"))
    return [(m.GetProp("_Name"), Chem.MolToSmiles(Chem.RemoveHs(m))) for m in mols]


def canon(smiles):
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def test_two_sites_with_stereo_fragment():
    result = enumerate_rgroups(TYK2_CORE, {1: ["[*][C@H]1C[C@H]1F", "*C1CC1"],
                                           2: ["[*:2]c1c(Cl)cccc1Cl", "[1*]c1ccccc1"]})
    assert len(result.candidates) == 4 and result.failures.empty
    smiles = set(result.candidates.smiles)
    assert canon("O=C(Nc1ccnc(NC(=O)[C@H]2C[C@H]2F)c1)c1c(Cl)cccc1Cl") in smiles  # jmc_23
    assert canon("O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1ccccc1") in smiles
    prov = json.loads(result.candidates.provenance.iloc[0])
    assert prov["core"] == TYK2_CORE and set(prov["rgroups"]) == {"1", "2"}
    assert (result.candidates.origin == "rgroup").all()
    mirror = enumerate_rgroups(TYK2_CORE, {1: ["[*][C@@H]1C[C@@H]1F"], 2: ["[*]c1c(Cl)cccc1Cl"]})
    assert mirror.candidates.smiles.iloc[0] not in smiles  # the enantiomer stays distinct


def test_bad_fragment_and_bad_product_are_failure_rows():
    frags = ["*C*", "[*]C", "[*]=O", "[*]#N", "C1CC"]  # =O / #N cannot sit on an aromatic C
    result = enumerate_rgroups("c1ccccc1[*:1]", {1: frags})
    codes = sorted(result.failures.reason_code)
    assert codes == ["bad_fragment", "bad_fragment", "sanitization_failed", "sanitization_failed"]
    assert list(result.candidates.smiles) == ["Cc1ccccc1"]


def test_site_mismatch_raises():
    with pytest.raises(BadInputError, match="no fragments"):
        enumerate_rgroups(TYK2_CORE, {1: ["*C"]})
    with pytest.raises(BadInputError):
        enumerate_rgroups("c1ccccc1*", {1: ["*C"]})


def test_sampling_is_deterministic_under_seed():
    groups = {1: [f"*{'C' * n}" for n in range(1, 11)], 2: ["*F", "*Cl", "*Br", "*O", "*N"]}
    core = "[*:1]c1ccc([*:2])cc1"
    a = enumerate_rgroups(core, groups, max_candidates=12, seed=7).candidates
    b = enumerate_rgroups(core, groups, max_candidates=12, seed=7).candidates
    c = enumerate_rgroups(core, groups, max_candidates=12, seed=8).candidates
    assert len(a) == 12 and a.equals(b) and set(a.smiles) != set(c.smiles)
    assert len(enumerate_rgroups(core, groups).candidates) == 50


def test_decompose_then_recombine_reproduces_series(tyk2_series):
    smiles = [s for _, s in tyk2_series]
    groups = decompose_series(smiles, TYK2_CORE)
    assert len(groups[1]) == 16 and groups[2] == ["Clc1cccc(Cl)c1[*:2]"]
    rebuilt = enumerate_rgroups(TYK2_CORE, groups).candidates
    assert set(rebuilt.smiles) == {canon(s) for s in smiles}


def test_series_analogs_for_tyk2_demo(tyk2_series):
    smiles = [s for _, s in tyk2_series]
    df = enumerate_series_analogs(smiles, TYK2_CORE, load_substituents(), max_candidates=300, seed=0)
    assert len(df) == 300 and df.compound_id.is_unique
    assert not set(df.smiles) & {canon(s) for s in smiles}
    assert df.equals(enumerate_series_analogs(smiles, TYK2_CORE, None, 300, 0))
    core = Chem.MolFromSmarts("O=C(Nc1ccnc(NC(=O)*)c1)*")
    assert all(Chem.MolFromSmiles(s).HasSubstructMatch(core) for s in df.smiles)


def test_shipped_substituents_are_valid_fragments():
    subs = load_substituents()
    assert set(subs) == {1, 2} and all(len(v) >= 20 for v in subs.values())
    for frags in subs.values():
        for smi in frags:
            mol = Chem.MolFromSmiles(smi)
            assert mol is not None and smi.count("*") == 1, smi


def test_generate_candidates_from_settings(tyk2_series):
    import pandas as pd

    seeds = pd.DataFrame(tyk2_series[:3], columns=["compound_id", "smiles"])
    settings = GenerateSettings(core_smiles=TYK2_CORE, max_candidates=20, seed=3,
                                rgroups={2: ["[*]c1ccc(F)cc1"]}, analog_methods=["mutation"])
    result = generate_candidates(settings, seeds)
    assert set(result.candidates.origin) == {"rgroup", "mutation"}
    assert len(result.candidates) <= 40 and result.candidates.compound_id.is_unique
    again = generate_candidates(settings, seeds)
    assert result.candidates.equals(again.candidates)
