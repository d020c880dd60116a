"""Tests of chem.reactions: shipped templates, failures, determinism."""

import json

import pytest
from rdkit import Chem

from chem.reactions import ReactionTemplate, enumerate_reaction, load_reactions
from moltwin.errors import BadInputError


def canon(smiles):
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@pytest.mark.parametrize("name, blocks, expected", [
    ("amide_coupling", [["OC(=O)c1ccccc1"], ["NC1CC1"]], "O=C(NC1CC1)c1ccccc1"),
    ("amide_coupling", [["OC(=O)C"], ["[NH2]c1ccccc1"]], "CC(=O)Nc1ccccc1"),
    ("reductive_amination", [["O=Cc1ccccc1"], ["C1COCCN1"]], "c1ccc(CN2CCOCC2)cc1"),
    ("suzuki", [["Brc1ccncc1"], ["CC1(C)OB(c2ccccc2)OC1(C)C"]], "c1ccc(-c2ccncc2)cc1"),
    ("buchwald_hartwig", [["Brc1ccccc1"], ["C1CCNCC1"]], "c1ccc(N2CCCCC2)cc1"),
    ("snar", [["Clc1ncccn1"], ["NCC"]], "CCNc1ncccn1"),
    ("sulfonamide", [["Cc1ccc(S(=O)(=O)Cl)cc1"], ["NC"]], "CNS(=O)(=O)c1ccc(C)cc1"),
    ("urea", [["O=C=Nc1ccccc1"], ["NC1CC1"]], "O=C(Nc1ccccc1)NC1CC1"),
])
def test_shipped_reactions(name, blocks, expected):
    result = enumerate_reaction(name, blocks)
    assert list(result.candidates.smiles) == [canon(expected)]
    prov = json.loads(result.candidates.provenance.iloc[0])
    assert prov["reaction"] == name and prov["reactants"] == [b[0] for b in blocks]


def test_library_has_the_seven_reactions():
    assert set(load_reactions()) == {"amide_coupling", "reductive_amination", "suzuki",
                                     "buchwald_hartwig", "snar", "sulfonamide", "urea"}


def test_failing_product_and_unreactive_blocks_are_failures():
    # A deliberately sloppy template: a tertiary amine would become a neutral 4-valent N.
    sloppy = ReactionTemplate(name="sloppy_arylation", smarts="[c:1][Br].[N:2]>>[c:1][N:2]")
    result = enumerate_reaction(sloppy, [["Brc1ccccc1", "CCO"], [("tma", "CN(C)C"), ("ma", "CN")]])
    assert list(result.candidates.smiles) == ["CNc1ccccc1"]
    codes = sorted(result.failures.reason_code)
    assert codes == ["no_reactive_group", "sanitization_failed"]
    bad = result.failures.set_index("reason_code").loc["sanitization_failed"]
    assert "valence" in bad.message and "tma" in bad.detail


def test_amide_coupling_skips_amides_and_reports_them():
    result = enumerate_reaction("amide_coupling", [["OC(=O)C"], [("acetamide", "CC(=O)NC"),
                                                                ("pyrrole", "c1cc[nH]c1")]])
    assert result.candidates.empty
    assert list(result.failures.reason_code) == ["no_reactive_group", "no_reactive_group"]


def test_sample_is_capped_and_deterministic():
    acids = [f"OC(=O){'C' * n}" for n in range(1, 21)]
    amines = [f"N{'C' * n}" for n in range(1, 21)]
    a = enumerate_reaction("amide_coupling", [acids, amines], max_candidates=15, seed=1)
    b = enumerate_reaction("amide_coupling", [acids, amines], max_candidates=15, seed=1)
    assert len(a.candidates) == 15 and a.candidates.equals(b.candidates)


def test_bad_template_or_reactant_count_raises():
    with pytest.raises(BadInputError):
        enumerate_reaction("no_such_reaction", [[], []])
    with pytest.raises(BadInputError, match="2 reactant lists"):
        enumerate_reaction("urea", [["O=C=NC"]])
