"""Lab files as they really come: header vocabulary, proposed mappings, censored values that
must never be stored as exact."""

from __future__ import annotations

import pytest

from lab_sync.header_vocabulary import parse_mapping_option
from lab_sync.read_table import read_assay_table
from lab_sync.store import open_store
from lab_sync.upload import upload_assay_file

SMI = "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"


@pytest.fixture()
def store(tmp_path):
    return open_store(str(tmp_path / "twin.db"))


def _write(tmp_path, text, name="f.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("endpoint, qualifier, value", [
    ("Result Type", "Op", "Result Value"),
    ("Activity Type", "Sign", "Mean"),
    ("Measurement Type", "Relation", "Raw Value"),
    ("Readout Type", "Prefix", "Result"),
    ("Assay Endpoint", "Operator Sign", "Reported Value"),
])
def test_plate_reader_header_synonyms_are_recognised(endpoint, qualifier, value):
    text = (f"Compound Name,Structure SMILES,Assay Name,{endpoint},{qualifier},{value},Result Units\n"
            f"A1,{SMI},TYK2,IC50,>,10,uM\n")
    table = read_assay_table(text.encode(), "plate.csv")
    assert {"compound_id", "smiles", "assay_id", "endpoint", "qualifier", "value",
            "units"} <= set(table.columns), table.columns
    assert table.unmapped_columns == []


def test_missing_required_column_lists_headers_and_proposes_mapping(store, tmp_path):
    path = _write(tmp_path, f"Compound ID,SMILES,Assay,Endpoint,Potency,Units\n"
                            f"A1,{SMI},TYK2,IC50,120,nM\nA2,C{SMI},TYK2,IC50,>10000,nM\n")
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "a")
    assert rep.status == "rejected" and rep.exit_code == 2
    reason = " ".join(e.reason for e in rep.errors)
    assert "Compound ID, SMILES, Assay, Endpoint, Potency, Units" in reason  # the file's headers
    assert "--mapping 'Potency=value'" in reason
    # ... and that exact line makes the file load
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "a",
                            mapping=parse_mapping_option("Potency=value"))
    assert rep.status == "committed" and rep.n_valid == 2
    m = store.read_table("measurements", "p").set_index("source_row")
    assert m.loc[3, "qualifier"] == ">" and m.loc[3, "value"] == 10000


@pytest.mark.parametrize("header, values, kind", [
    ("Flag", [">", "="], "qualifier"),
    ("Cmp", ["<", "<="], "qualifier"),
    ("Scale", ["uM", "nM"], "unit"),
])
def test_unrecognised_qualifier_or_unit_column_stops_the_upload(store, tmp_path, header, values, kind):
    rows = "".join(f"A{i},{'C' * i}{SMI},TYK2,IC50,{v},10000\n" for i, v in enumerate(values))
    path = _write(tmp_path, f"Compound ID,SMILES,Assay,Endpoint,{header},Value\n{rows}")
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "a")
    assert rep.status == "rejected" and rep.exit_code == 2
    err = next(e for e in rep.errors if e.column == header)
    assert kind in err.reason and "--mapping" in err.reason
    assert store.count("measurements") == 0  # a censored >10000 never becomes an exact 10000


def test_mapping_option_inline_and_yaml(tmp_path):
    assert parse_mapping_option("Potency=value, Op = qualifier") == {"Potency": "value",
                                                                     "Op": "qualifier"}
    yml = tmp_path / "m.yaml"
    yml.write_text("Potency: value\n")
    assert parse_mapping_option(str(yml)) == {"Potency": "value"}


def test_cli_prints_the_proposed_mapping_and_accepts_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from interfaces.cli import app

    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    db = str(tmp_path / "twin.db")
    open_store(db)
    path = _write(tmp_path, f"Compound ID,SMILES,Assay,Endpoint,Potency,Units\nA1,{SMI},TYK2,IC50,120,nM\n")
    first = CliRunner().invoke(app, ["assays", "upload", str(path), "--project", "p", "--db", db,
                                     "--no-sync"])
    assert first.exit_code == 2 and "--mapping 'Potency=value'" in first.output
    again = CliRunner().invoke(app, ["assays", "upload", str(path), "--project", "p", "--db", db,
                                     "--no-sync", "--mapping", "Potency=value"])
    assert again.exit_code == 0, again.output
