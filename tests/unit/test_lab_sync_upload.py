"""Assay uploads on real messy files: row errors, transactions, duplicates, dry runs."""

from __future__ import annotations

import shutil

import pytest

from lab_sync.aggregate import aggregate_measurements
from lab_sync.store import open_store
from lab_sync.upload import upload_assay_file
from moltwin.errors import BadInputError, StoreError


@pytest.fixture()
def store(db_url):
    return open_store(db_url)  # SQLite and PostgreSQL


def _upload(store, path, tmp_path, **kw):
    return upload_assay_file(store, path, "tyk2", archive_dir=tmp_path / "archive", **kw)


def test_messy_file_commits_valid_rows_and_reports_each_bad_one(store, testdata, tmp_path):
    rep = _upload(store, testdata / "assays" / "messy_mixed.csv", tmp_path)
    assert rep.status == "committed" and rep.exit_code == 1
    by_row = {(e.row, e.column) for e in rep.errors}
    assert (5, "smiles") in by_row          # not_a_smiles
    assert (6, "value") in by_row           # n.d.
    assert (7, "value") in by_row           # negative IC50
    assert (8, "units") in by_row           # furlongs
    assert (9, "test_concentration") in by_row  # % inhibition without concentration
    assert (10, "smiles") in by_row         # id 007 reused for a different structure in the same file
    assert rep.n_valid == 3 and rep.n_invalid == 6
    m = store.read_table("measurements", "tyk2")
    assert sorted(m["source_row"]) == [2, 3, 4]
    assert set(m["compound_id"]) == {"007", "008"}  # leading zeros kept
    q = store.read_table("quarantine")
    assert len(q) == len(rep.errors)
    agg = aggregate_measurements(m).set_index("compound_id")
    # 120 nM and 0.095 uM (95 nM): mean of pIC50 6.92 and 7.02
    assert agg.loc["007", "p_activity"] == pytest.approx((9 - 2.0792 + 9 - 1.9777) / 2, abs=1e-3)
    assert agg.loc["007", "n_replicates"] == 2
    assert agg.loc["008", "p_qualifier"] == "<" and agg.loc["008", "p_activity"] == pytest.approx(5.0)
    archived = list((tmp_path / "archive").iterdir())
    assert len(archived) == 1 and archived[0].read_bytes() == (testdata / "assays" / "messy_mixed.csv").read_bytes()


def test_same_file_twice_is_detected_and_not_duplicated(store, testdata, tmp_path):
    first = _upload(store, testdata / "assays" / "messy_mixed.csv", tmp_path)
    copy = tmp_path / "renamed.csv"
    shutil.copy(testdata / "assays" / "messy_mixed.csv", copy)
    second = _upload(store, copy, tmp_path)
    assert second.status == "duplicate" and second.upload_id == first.upload_id and second.exit_code == 2
    assert store.count("measurements", "tyk2") == 3


def test_dry_run_writes_nothing(store, testdata, tmp_path):
    rep = _upload(store, testdata / "assays" / "messy_mixed.csv", tmp_path, dry_run=True)
    assert rep.status == "dry_run" and rep.n_valid == 3
    assert store.count("measurements") == 0 and store.count("uploads") == 0 and store.count("compounds") == 0


def test_chembl_export_semicolons_quotes_crlf_comma_decimal(store, testdata, tmp_path):
    rep = _upload(store, testdata / "assays" / "chembl_export.csv", tmp_path)
    assert rep.exit_code == 0, rep.to_dict()
    m = store.read_table("measurements", "tyk2").set_index("compound_id")
    assert m.loc["CHEMBL1", "value_nm"] == pytest.approx(12.5)
    assert m.loc["CHEMBL2", "qualifier"] == ">" and m.loc["CHEMBL2", "assay_id"] == "CHEMBL999"


@pytest.mark.parametrize("name,encoding_ok", [("bom.csv", True), ("latin1.csv", True)])
def test_encodings(store, testdata, tmp_path, name, encoding_ok):
    rep = _upload(store, testdata / "assays" / name, tmp_path)
    assert rep.exit_code == 0, rep.to_dict()


@pytest.mark.parametrize("name,message", [
    ("empty.csv", "empty"), ("header_only.csv", "no data rows"), ("binary.csv", "binary"),
    ("wrong_delimiter.csv", "single column"),
])
def test_unusable_files_raise_clear_errors_and_store_nothing(store, testdata, tmp_path, name, message):
    with pytest.raises(BadInputError, match=message) as info:
        _upload(store, testdata / "assays" / name, tmp_path)
    assert name in str(info.value)
    assert info.value.exit_code == 2
    assert store.count("uploads") == 0


def test_missing_columns_reject_the_whole_file(store, tmp_path):
    f = tmp_path / "nocols.csv"
    f.write_text("compound_id,smiles\nA,CCO\n")
    rep = _upload(store, f, tmp_path)
    assert rep.status == "rejected" and rep.exit_code == 2
    assert {e.column for e in rep.errors} >= {"value", "endpoint", "assay_id"}
    assert store.count("measurements") == 0


def test_crash_inside_commit_leaves_store_unchanged(store, testdata, tmp_path, monkeypatch):
    _upload(store, testdata / "assays" / "chembl_export.csv", tmp_path)
    before = {t: store.count(t) for t in ("uploads", "measurements", "compounds", "quarantine")}

    def boom(*a, **k):
        raise StoreError("simulated crash between registration and measurement insert")

    monkeypatch.setattr(type(store), "insert_rows", boom)
    with pytest.raises(StoreError):
        _upload(store, testdata / "assays" / "messy_mixed.csv", tmp_path)
    after = {t: store.count(t) for t in before}
    assert after == before


def test_unregistered_id_without_smiles_is_a_row_error(store, tmp_path):
    f = tmp_path / "noid.csv"
    f.write_text("compound_id,assay_id,endpoint,value,units\nNEW-1,X,IC50,5,nM\n")
    rep = _upload(store, f, tmp_path)
    assert rep.exit_code == 2 and "not registered" in rep.errors[0].reason


def test_exact_duplicate_rows_are_reported_and_stored_once(store, tmp_path):
    f = tmp_path / "dups.csv"
    line = "C1,CC(=O)Nc1ccc(O)cc1,X,IC50,5,uM,1\n"
    f.write_text("compound_id,smiles,assay_id,endpoint,value,units,replicate\n" + line + line
                 + "C1,CC(=O)Nc1ccc(O)cc1,X,IC50,6,uM,2\n")
    rep = _upload(store, f, tmp_path)
    assert rep.exit_code == 1 and rep.n_valid == 2
    assert [(e.row, e.reason.split(" (")[0]) for e in rep.errors] == [(3, "exact duplicate of row 2")]
    assert sorted(store.read_table("measurements", "tyk2")["replicate"]) == ["1", "2"]
