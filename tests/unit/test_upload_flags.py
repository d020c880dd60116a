"""Rows that look fine alone but not beside the others: suspected duplicates from another file,
impossible or ambiguous dates, endpoints that differ from their assay, mixed assay versions."""

from __future__ import annotations

import pytest

from lab_sync.duplicates import confirm_replicate
from lab_sync.store import open_store
from lab_sync.project_settings import set_project_date_order
from lab_sync.upload import upload_assay_file

SMI = "CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"
HEAD = "compound_id,smiles,assay_id,endpoint,value,units,test_date,operator\n"


@pytest.fixture()
def store(tmp_path):
    return open_store(str(tmp_path / "twin.db"))


def _up(store, tmp_path, name, text, **kw):
    path = tmp_path / name
    path.write_text(HEAD + text, encoding="utf-8")
    return upload_assay_file(store, path, "p", archive_dir=tmp_path / "a", **kw)


def test_same_measurement_in_another_file_is_quarantined_until_confirmed(store, tmp_path):
    first = _up(store, tmp_path, "a.csv", f"A1,{SMI},T,IC50,120,nM,2026-10-01,ak\n"
                                          f"A2,C{SMI},T,IC50,50,nM,2026-10-01,ak\n")
    assert first.status == "committed"
    second = _up(store, tmp_path, "b.csv", f"A1,{SMI},T,IC50,120,nM,2026-10-01,ak\n"
                                           f"A1,{SMI},T,IC50,130,nM,2026-10-02,ak\n")
    assert second.status == "committed"
    flagged = [w for w in second.warnings if w.column == "_suspected_duplicate"]
    assert [w.row for w in flagged] == [2]
    assert first.upload_id in flagged[0].reason and "row 2" in flagged[0].reason
    m = store.read_table("measurements", "p")
    mine = m[m["upload_id"] == second.upload_id].set_index("source_row")
    assert not mine.loc[2, "active"] and mine.loc[3, "active"]  # kept, not counted
    assert len(m) == 4
    q = store.read_table("quarantine", upload_id=second.upload_id)
    assert list(q["column_name"]) == ["_suspected_duplicate"]
    confirm_replicate(store, "p", second.upload_id, 2, confirmed_by="ak")
    m = store.read_table("measurements", "p")
    assert m["active"].all()
    q = store.read_table("quarantine", upload_id=second.upload_id)
    assert list(q["column_name"]) == ["_confirmed_replicate"] and "by ak" in q["reason"].iloc[0]
    # the uploader may also confirm at upload time
    third = _up(store, tmp_path, "c.csv", f"A2,C{SMI},T,IC50,50,nM,2026-10-01,ak\n",
                confirm_replicates=True)
    assert third.warnings == [] and store.read_table("measurements", "p")["active"].all()


def test_impossible_and_ambiguous_dates_follow_the_project_date_order(store, tmp_path):
    rows = (f"A1,{SMI},T,IC50,120,nM,31/02/2026,ak\n"     # impossible in any order
            f"A2,C{SMI},T,IC50,120,nM,2026-02-30,ak\n"    # impossible ISO
            f"A3,CC{SMI},T,IC50,120,nM,03/04/2026,ak\n"   # ambiguous under ISO
            f"A4,CCC{SMI},T,IC50,120,nM,2026-04-03,ak\n")
    rep = _up(store, tmp_path, "d.csv", rows, dry_run=True)
    bad = {e.row: e.reason for e in rep.errors if e.column == "test_date"}
    assert set(bad) == {2, 3, 4}
    assert "impossible" in bad[2] and "impossible" in bad[3] and "ambiguous" in bad[4]
    set_project_date_order(store, "p", "dmy")
    rep = _up(store, tmp_path, "d.csv", rows)
    assert {e.row for e in rep.errors if e.column == "test_date"} == {2, 3}
    dates = store.read_table("measurements", "p").set_index("source_row")["test_date"]
    assert dates[4] == "2026-04-03" and dates[5] == "2026-04-03"  # stored as ISO


def test_endpoint_differing_from_its_assay_is_flagged(store, tmp_path):
    rows = "".join(f"K{i},{'C' * i}{SMI},KI-ASSAY,Ki,{10 + i},nM,2026-10-01,ak\n" for i in range(3))
    rows += f"K9,CCCCCC{SMI},KI-ASSAY,IC50,30,nM,2026-10-01,ak\n"
    rep = _up(store, tmp_path, "e.csv", rows)
    bad = [e for e in rep.errors if e.column == "endpoint"]
    assert [e.row for e in bad] == [5] and "Ki" in bad[0].reason and "IC50" in bad[0].reason
    assert rep.n_valid == 3


def test_mixed_assay_versions_are_flagged(store, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("compound_id,smiles,assay_id,assay_version,endpoint,value,units\n"
                    + "".join(f"V{i},{'C' * i}{SMI},T,v1,IC50,{10 + i},nM\n" for i in range(3))
                    + f"V9,CCCCCC{SMI},T,v2,IC50,30,nM\n", encoding="utf-8")
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "a", dry_run=True)
    bad = [e for e in rep.errors if e.column == "assay_version"]
    assert [e.row for e in bad] == [5] and "v1" in bad[0].reason
    # assay ids that differ only by a version suffix: each row is flagged, not rejected
    rows = (f"W1,{SMI},TYK2-v1,IC50,10,nM,2026-10-01,ak\n"
            f"W2,C{SMI},TYK2-v2,IC50,10,nM,2026-10-01,ak\n")
    rep = _up(store, tmp_path, "w.csv", rows, dry_run=True)
    assert rep.n_valid == 2
    assert sorted(w.row for w in rep.warnings if w.column == "assay_id") == [2, 3]


def test_superseding_the_original_counts_its_held_back_copies(store, tmp_path):
    from lab_sync.supersede import supersede_committed

    row = f"A1,{SMI},T,IC50,120,nM,2026-10-01,ak\n"
    first, second = _up(store, tmp_path, "a.csv", row), _up(store, tmp_path, "b.csv", row + row.replace("120", "7"))
    assert [w.row for w in second.warnings] == [2]
    supersede_committed(store, "p", first.upload_id, second.upload_id)
    m = store.read_table("measurements", "p")
    assert m[m["upload_id"] == second.upload_id]["active"].all()
    assert not m[m["upload_id"] == first.upload_id]["active"].any()
