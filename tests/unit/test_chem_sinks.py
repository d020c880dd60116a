"""Tests of chem.sinks: incremental writers for Parquet, CSV, SDF and SMILES."""

import pandas as pd
import pytest
from rdkit import Chem

from chem.sinks import TableSink, arrow_schema, write_frame
from moltwin.errors import BadInputError

ROWS = pd.DataFrame({"compound_id": ["ejm_31", "ejm_46"],
                     "smiles": ["CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1",
                                "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl"],
                     "input_line": [2, 3], "hbd": [2, 2], "qed": [0.9, 0.85],
                     "morgan_fp": [b"\x01\xff", b"\x00\x10"], "origin": ["rgroup", None]})


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".sdf", ".smi"])
def test_chunks_append_to_one_file(tmp_path, suffix):
    sink = TableSink(tmp_path / f"out{suffix}")
    sink.write(ROWS.iloc[:1])
    sink.write(ROWS.iloc[:0])
    sink.write(ROWS.iloc[1:])
    path = sink.close()
    assert sink.n_rows == 2 and not list(tmp_path.glob(".*partial"))
    if suffix == ".parquet":
        back = pd.read_parquet(path)
        assert back["morgan_fp"].tolist() == [b"\x01\xff", b"\x00\x10"]
        assert str(back["hbd"].dtype) == "int64" and back["origin"].isna().tolist() == [False, True]
    elif suffix == ".csv":
        back = pd.read_csv(path)
        assert back["compound_id"].tolist() == ["ejm_31", "ejm_46"] and back["morgan_fp"][0] == "01ff"
    elif suffix == ".sdf":
        mols = list(Chem.SDMolSupplier(str(path)))
        assert [m.GetProp("_Name") for m in mols] == ["ejm_31", "ejm_46"]
        assert mols[0].GetProp("qed") == "0.9"
    else:
        assert path.read_text().splitlines()[1] == f"{ROWS.smiles[1]}\tejm_46"


def test_schema_types_by_name():
    schema = arrow_schema(["compound_id", "input_line", "mw_da", "morgan_fp", "whatever"])
    assert [str(t) for t in schema.types] == ["string", "int64", "double", "binary", "string"]


def test_unknown_suffix_and_abort(tmp_path):
    with pytest.raises(BadInputError, match="unknown output type"):
        TableSink(tmp_path / "out.xlsx")
    sink = TableSink(tmp_path / "out.parquet")
    sink.write(ROWS)
    sink.abort()
    assert not list(tmp_path.iterdir())
    assert write_frame(ROWS.iloc[:0], tmp_path / "empty.csv").read_text().startswith("compound_id")
