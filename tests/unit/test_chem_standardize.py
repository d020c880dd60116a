"""Tests of chem.standardize: parent structures, failure rows with lines, dedup."""

from pathlib import Path

import pandas as pd
import pytest

from chem.io import read_sdf
from chem.settings import StandardizeSettings
from chem.standardize import (OK_COLUMNS, standardize_molecules, standardize_smiles,
                              standardize_stream)
from moltwin.errors import BadInputError, ChemistryError
from moltwin.records import FAILURE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
# 50 alanines: 502 atoms with hydrogens, 251 heavy atoms.
PEPTIDE = "N" + "C(C)C(=O)N" * 49 + "C(C)C(=O)O"


def test_salt_stripped_neutralized_stereo_kept():
    std = standardize_smiles("C[C@H]([NH3+])C(=O)[O-].[Na+].[Cl-]")
    assert std.smiles == "C[C@H](N)C(=O)O"
    assert std.inchikey == "QNAYBMKLOCPYGJ-REOHCLBHSA-N"  # L-alanine
    assert standardize_smiles("CC(=O)O[Na]").smiles == "CC(=O)O"  # covalent salt disconnected
    assert standardize_smiles("c1ccccc1C(=O)O.Cl").smiles == "O=C(O)c1ccccc1"


def test_canonical_tautomer_is_optional():
    assert standardize_smiles("Oc1ccccn1").smiles == "Oc1ccccn1"
    taut = standardize_smiles("Oc1ccccn1", StandardizeSettings(canonical_tautomer=True))
    assert taut.smiles == "O=c1cccc[nH]1"


@pytest.mark.parametrize("smiles, code", [
    ("C1CC(", "unparsable_smiles"),
    ("CN(C)(C)C", "unparsable_smiles"),  # pentavalent N
    ("", "empty_molecule"),
    ("N.N.Cl[Pt]Cl", "metal_or_radical"),  # cisplatin
    ("C1=CC=C(C=C1)[Hg]Cl", "metal_or_radical"),
    ("[CH3]", "metal_or_radical"),
    ("[Na+].[Cl-]", "inorganic"),
    (PEPTIDE, "too_large"),
])
def test_single_failures_raise_with_reason(smiles, code):
    with pytest.raises(ChemistryError) as info:
        standardize_smiles(smiles)
    assert info.value.reason_code == code


def test_batch_failures_are_rows_with_input_lines():
    df = pd.DataFrame({
        "compound_id": ["ok1", "bad", "empty", "metal", "pep", "ok1", "ok2", "salt", "none"],
        "smiles": ["CCO", "C1CC(", "", "N.N.Cl[Pt]Cl", PEPTIDE, "CCN", "c1ccccc1O",
                   "CCO.Cl", None],
        "input_line": [2, 3, 4, 5, 6, 7, 8, 9, 10],
        "series": list("abcdefghi"),
    })
    ok, failures = standardize_molecules(df, registered_inchikeys={"ISWSIDIOOBJBQZ-UHFFFAOYSA-N"})
    assert list(ok.columns) == OK_COLUMNS + ["series"]
    assert list(failures.columns) == FAILURE_COLUMNS
    assert list(ok.compound_id) == ["ok1"]
    got = {(r.compound_id, r.reason_code, r.input_line) for r in failures.itertuples()}
    assert got == {("bad", "unparsable_smiles", 3), ("empty", "empty_molecule", 4),
                   ("metal", "metal_or_radical", 5), ("pep", "too_large", 6),
                   ("ok1", "duplicate_id", 7), ("ok2", "already_registered", 8),
                   ("salt", "duplicate_structure", 9), ("none", "unreadable_record", 10)}
    dup = failures.set_index("compound_id").loc["salt"]
    assert "ok1" in dup.message and dup.detail == "duplicate_of=ok1"
    assert (failures.stage == "standardize").all()


def test_missing_columns_raise():
    with pytest.raises(BadInputError, match="smiles"):
        standardize_molecules(pd.DataFrame({"compound_id": ["a"]}))


def test_stream_dedups_across_batches():
    batches = [pd.DataFrame({"compound_id": ["a", "b"], "smiles": ["CCO", "CCC"]}),
               pd.DataFrame({"compound_id": ["c", "a"], "smiles": ["OCC", "CCCC"]})]
    (ok1, f1), (ok2, f2) = standardize_stream(batches)
    assert list(ok1.compound_id) == ["a", "b"] and len(f1) == 0
    assert ok2.empty
    assert list(f2.reason_code) == ["duplicate_structure", "duplicate_id"]


def test_tyk2_ligands_standardize_cleanly():
    df = pd.concat(read_sdf(ROOT / "data" / "tyk2" / "ligands.sdf"))
    ok, failures = standardize_molecules(df)
    assert len(ok) == 16 and failures.empty
    assert ok.inchikey.is_unique
    row = ok.set_index("compound_id").loc["jmc_23"]
    assert row.smiles == "O=C(Nc1ccnc(NC(=O)[C@H]2C[C@H]2F)c1)c1c(Cl)cccc1Cl"
