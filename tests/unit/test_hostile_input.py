"""Hostile and careless input: formula cells in CSV exports, over-long fields, csv's field limit,
UTF-16 files, crashes while reading, and mathtext in plot labels."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pytest

from chem.sinks import TableSink, write_csv
from lab_sync.store import open_store
from lab_sync.upload import upload_assay_file
from moltwin.csv_export import neutralise_frame
from moltwin.errors import BadInputError

sys.path.insert(0, str(Path(__file__).parent))
from _web_client import check_file, make_web, sign_in, text_of  # noqa: E402

SMI = "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"
HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "CPD-1"]


@pytest.fixture()
def store(tmp_path):
    return open_store(str(tmp_path / "twin.db"))


def test_csv_export_neutralises_formula_text_cells_only(tmp_path):
    df = pd.DataFrame({"compound_id": HOSTILE, "value": [-1.5, 2, -3, 4, 5, 6, 7],
                       "note": ["=1+1", None, "ok", "-", "", "+", "a=b"]})
    safe = neutralise_frame(df)
    assert list(safe["compound_id"]) == ["'" + c for c in HOSTILE[:6]] + ["CPD-1"]
    assert list(safe["value"]) == [-1.5, 2, -3, 4, 5, 6, 7]  # numbers untouched
    notes = safe["note"].tolist()
    assert notes[0] == "'=1+1" and pd.isna(notes[1]) and notes[2:6] == ["ok", "'-", "", "'+"]
    assert list(df["compound_id"]) == HOSTILE  # the caller's frame is not changed
    for path in (write_csv(df, tmp_path / "a.csv"), tmp_path / "b.csv"):
        if path.name == "b.csv":
            sink = TableSink(path)
            sink.write(df)
            sink.close()
        with open(path, newline="") as handle:
            cells = list(csv.DictReader(handle))
        assert all(not r["compound_id"].startswith(("=", "+", "-", "@", "\t", "\r"))
                   for r in cells)
        assert cells[0]["value"] == "-1.5"


def test_report_csv_is_safe_and_parquet_exact(tmp_path):
    from _ranking_data import build_tables, tyk2_records
    from ranking.merge import merge_candidate_table
    from ranking.report import ReportContext, write_report
    from ranking.score import rank_candidates
    from ranking.settings import RankSettings
    from datetime import datetime, timezone

    ranked = rank_candidates(merge_candidate_table(**build_tables(tyk2_records())),
                             RankSettings(n_samples=200))
    ranked.loc[ranked.index[0], "compound_id"] = "=CMD|' /C calc'!A0"
    ranked.loc[ranked.index[1], "compound_id"] = "CPD-$x^$-2"  # mathtext must not break plots
    paths = write_report(ranked, tmp_path, ReportContext(
        project_name="p", run_id="r", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        config_hash="0" * 16, code_version="t"))
    ids = pd.read_csv(paths.csv)["compound_id"].tolist()
    assert "'=CMD|' /C calc'!A0" in ids and "=CMD|' /C calc'!A0" not in ids
    assert "=CMD|' /C calc'!A0" in set(pd.read_parquet(paths.parquet)["compound_id"])


def test_plot_labels_with_dollars_do_not_break(tmp_path):
    from ranking.report_plots import plot_pareto, plot_rmsd_traces

    table = pd.DataFrame({"compound_id": ["CPD-$x^$-2", "B$", "C"],
                          "activity_p": [7.0, 6.0, 5.0], "developability": [0.5, 0.7, 0.2],
                          "decision": ["advance", "hold", "deprioritize"],
                          "pareto_rank": [1, 1, 2]})
    svg = plot_pareto(table)
    assert svg and "CPD-$x^$-2" in svg
    traces = {"CPD-$x^$-2": pd.DataFrame({"time_ps": [0, 1], "ligand_rmsd_A": [0.1, 0.2]})}
    assert "CPD-$x^$-2" in plot_rmsd_traces(traces)


def _write(tmp_path, text: str, name="f.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_long_ids_names_and_free_text_are_row_errors(store, tmp_path):
    long_id, long_op = "X" * 201, "o" * 201
    path = _write(tmp_path, "compound_id,smiles,assay_id,endpoint,value,units,operator\n"
                            f"{long_id},{SMI},T,IC50,1,nM,ak\n"
                            f"A2,C{SMI},{'a' * 201},IC50,1,nM,ak\n"
                            f"A3,CC{SMI},T,IC50,1,nM,{long_op}\n"
                            f"A4,CCC{SMI},T,IC50,1,nM,ak\n")
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "a", dry_run=True)
    errs = {(e.row, e.column): e.reason for e in rep.errors}
    assert set(errs) == {(2, "compound_id"), (3, "assay_id"), (4, "operator")}
    assert "201 characters" in errs[(2, "compound_id")] and "200" in errs[(2, "compound_id")]
    assert rep.n_valid == 1
    with pytest.raises(BadInputError, match="201 characters long; the limit is 200"):
        upload_assay_file(store, path, "p", archive_dir=tmp_path / "a", uploader="u" * 201)


def test_field_over_the_csv_limit_is_a_clear_error(store, tmp_path):
    path = _write(tmp_path, "compound_id,smiles,assay_id,endpoint,value,units\n"
                            f'A1,"{"C" * (csv.field_size_limit() + 10)}",T,IC50,1,nM\n')
    with pytest.raises(BadInputError) as info:
        upload_assay_file(store, path, "p", archive_dir=tmp_path / "a")
    assert info.value.exit_code == 2 and "line 2" in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_read(store, tmp_path, encoding):
    text = f"compound_id\tsmiles\tassay_id\tendpoint\tvalue\tunits\nA1\t{SMI}\tT\tIC50\t>10\tµM\n"
    rep = upload_assay_file(store, _write(tmp_path, text, encoding=encoding), "p",
                            archive_dir=tmp_path / "a", dry_run=True)
    assert rep.n_valid == 1 and rep.errors == []


def test_unexpected_exception_while_reading_is_bad_input(store, tmp_path, monkeypatch):
    import lab_sync.upload as upload

    def broken(*a, **k):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(upload, "validate_row", broken)
    path = _write(tmp_path, f"compound_id,smiles,endpoint,value,units\nA1,{SMI},IC50,1,nM\n")
    with pytest.raises(BadInputError, match="could not be read"):
        upload_assay_file(store, path, "p", archive_dir=tmp_path / "a", default_assay="T")


def test_web_check_of_bad_files_is_a_page_not_a_500(tmp_path, monkeypatch):
    web = make_web(tmp_path)
    huge = ("compound_id,smiles,assay_id,endpoint,value,units\n"
            f'A1,"{"C" * (csv.field_size_limit() + 10)}",T,IC50,1,nM\n').encode()
    with web.client() as client:
        csrf = sign_in(client, web, "alice")
        page = check_file(client, csrf, huge)
        assert page.status_code in (400, 422) and "line 2" in text_of(page.text)
        assert page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
        import lab_sync.upload as upload

        monkeypatch.setattr(upload, "validate_row", lambda *a, **k: 1 / 0)
        client_errors = check_file(client, csrf, f"compound_id,smiles,endpoint,value,units\nA1,{SMI},IC50,1,nM\n".encode(),
                                   assay="T")
        assert client_errors.status_code in (400, 422)
        assert "could not be read" in text_of(client_errors.text)
        assert client_errors.headers["X-Content-Type-Options"] == "nosniff"
