"""Tests of chem.io: streaming readers with line numbers, errors, writers."""

from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem

from chem.io import read_csv_molecules, read_molecules, read_sdf, read_smiles_file
from chem.sinks import write_csv, write_parquet, write_sdf, write_table
from moltwin.errors import BadInputError

ROOT = Path(__file__).resolve().parents[2]
TYK2_SDF = ROOT / "data" / "tyk2" / "ligands.sdf"


def test_smiles_file_keeps_line_numbers_and_ids(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text("SMILES Name\n# a comment\nCCO ethanol\n\nc1ccccc1\tbenzene\nCC(=O)O\n")
    df = pd.concat(read_smiles_file(path))
    assert list(df.compound_id) == ["ethanol", "benzene", "mols_6"]
    assert list(df.input_line) == [3, 5, 6]
    assert list(df.columns) == ["compound_id", "smiles", "input_line"]


def test_smiles_file_streams_in_batches():
    path = ROOT / "data" / "chembl_freewilson" / "CHEMBL2321810.smi"
    batches = list(read_smiles_file(path, batch_size=400))
    assert [len(b) for b in batches] == [400, 400, 217]
    assert batches[1].input_line.iloc[0] == 401
    assert batches[0].compound_id.iloc[0] == "1520012"


def test_empty_smiles_file_raises(tmp_path):
    path = tmp_path / "empty.smi"
    path.write_text("\n# nothing\n")
    with pytest.raises(BadInputError, match="empty") as info:
        list(read_smiles_file(path))
    assert info.value.file == str(path) and info.value.exit_code == 2


def test_missing_file_raises(tmp_path):
    with pytest.raises(BadInputError, match="not found"):
        list(read_molecules(tmp_path / "nope.smi"))


def test_csv_reader_lines_blank_rows_and_extra_columns(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("id,structure,series\nA1,CCO,x\n\nA2,c1ccccc1,y\n,CCN,z\nA3,,w\n")
    df = pd.concat(read_csv_molecules(path, smiles_column="structure", id_column="id",
                                      extra_columns=["series"]))
    assert list(df.compound_id) == ["A1", "A2", "mols_5", "A3"]
    assert list(df.input_line) == [2, 4, 5, 6]
    assert list(df.series) == ["x", "y", "z", "w"]
    assert df.smiles.iloc[3] == ""  # kept, so standardization reports it with its line


def test_csv_wrong_columns_names_the_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,smi\nA,CCO\n")
    with pytest.raises(BadInputError) as info:
        list(read_csv_molecules(path))
    assert info.value.row == 1 and info.value.field == "smiles"
    assert "missing column" in str(info.value)


@pytest.mark.parametrize("text", ["", "smiles,compound_id\n"])
def test_empty_csv_raises(tmp_path, text):
    path = tmp_path / "empty.csv"
    path.write_text(text)
    with pytest.raises(BadInputError):
        list(read_csv_molecules(path))


def test_sdf_reader_keeps_stereo_names_and_tags():
    df = pd.concat(read_molecules(TYK2_SDF, properties=["r_user_dG.exp"]))
    assert len(df) == 16 and list(df.input_line) == list(range(1, 17))
    row = df.set_index("compound_id").loc["jmc_30"]
    assert "@" in row.smiles and "[H]" not in row.smiles
    assert float(row["r_user_dG.exp"]) == pytest.approx(-10.94)


def test_sdf_broken_record_becomes_row(tmp_path):
    good = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    broken = good.replace("C   0", "Xx  0", 1)  # unknown element symbol
    path = tmp_path / "mixed.sdf"
    path.write_text(f"ok\n{good[good.index(chr(10)) + 1:]}$$$$\nbad\n"
                    f"{broken[broken.index(chr(10)) + 1:]}$$$$\n")
    df = pd.concat(read_sdf(path))
    assert list(df.input_line) == [1, 2]
    assert df.smiles.iloc[0] == "CCO" and pd.isna(df.smiles.iloc[1])


def test_writers_roundtrip(tmp_path):
    df = pd.DataFrame({"compound_id": ["a", "b"], "smiles": ["CCO", "c1ccccc1"],
                       "qed": [0.4, 0.5]})
    assert pd.read_parquet(write_parquet(df, tmp_path / "x" / "t.parquet")).equals(df)
    assert pd.read_csv(write_csv(df, tmp_path / "t.csv")).equals(df)
    assert write_sdf(df, tmp_path / "t.sdf") == 2
    mols = list(Chem.SDMolSupplier(str(tmp_path / "t.sdf")))
    assert [m.GetProp("_Name") for m in mols] == ["a", "b"]
    assert mols[1].GetProp("qed") == "0.5"
    write_table(df, tmp_path / "t2.sdf")
    with pytest.raises(BadInputError):
        write_table(df, tmp_path / "t.xlsx")
