"""Plate files through upload -> store -> aggregation -> model training, on real-shaped files.

Files in tests/data/plates/ (made by make_plates.py): one 384-well plate of the 16 Tyk2 ligands in
duplicate as a well-level export (one outlier well, C07) and a second run as a 16x24 grid + plate
map; a 96-well plate whose controls fail Z'; a 96-well plate with an inactive compound and bad wells.
"""

from __future__ import annotations

import json

import pytest

from lab_sync.aggregate import aggregate_measurements
from lab_sync.plates.plate_reader import read_long_format
from lab_sync.plates.plate_store import accept_plate, mask_wells
from lab_sync.plates.plate_upload import read_plate_file, upload_plate_file
from lab_sync.plates.plate_views import curve_classes_by_compound, curve_fit_table
from lab_sync.store import open_store
from lab_sync.twin_records import series_activities
from moltwin.errors import BadInputError


@pytest.fixture()
def store(tmp_path):
    return open_store(str(tmp_path / "twin.db"))


@pytest.fixture()
def plates(testdata):
    return testdata / "plates"


def _up(store, path, tmp_path, **kw):
    return upload_plate_file(store, path, "tyk2", archive_dir=tmp_path / "archive", **kw)


def test_long_and_grid_formats_read_the_same_wells(plates):
    long = read_long_format((plates / "plate384_long.csv").read_bytes(), "plate384_long.csv")
    grid = read_plate_file((plates / "plate384_grid.csv").read_bytes(), "plate384_grid.csv",
                           (plates / "plate384_map.csv").read_bytes(), "plate384_map.csv")
    assert len(long.wells) == len(grid.wells) == 384 and not long.errors and not grid.errors
    key = lambda w: (w.well, w.well_type, w.compound_id, round(w.conc_nm or 0, 3))  # noqa: E731
    assert sorted(map(key, long.wells)) == sorted(map(key, grid.wells))
    assert {w.conc_nm for w in long.wells if w.well_type == "sample"} >= {30000.0}  # "Conc (uM)" header
    assert {w.plate_id for w in grid.wells} == {"PLT-0384-02"}


def test_384_well_plate_stores_linked_fitted_potencies(store, plates, tmp_path):
    rep = _up(store, plates / "plate384_long.csv", tmp_path)
    assert rep.status == "committed" and rep.exit_code == 0, rep.to_dict()
    assert rep.plates[0]["status"] == "passed" and rep.plates[0]["z_prime"] > 0.7
    fits = curve_fit_table(store, "tyk2")
    # 16 compounds in duplicate: one curve per compound and plate, fitted on both halves' 20 wells.
    assert len(fits) == 16 and fits["used"].all() and all(len(w) == 20 for w in fits["wells"])
    m = store.read_table("measurements", "tyk2")
    assert len(m) == 16 and set(m["endpoint"]) == {"IC50"} and set(m["replicate"]) == {"PLT-0384-01"}
    assert set(store.read_table("curve_fits", "tyk2")["measurement_id"]) == set(m["id"])
    wells = store.read_table("plate_wells")
    assert len(wells) == 384
    masked = wells[wells["masked"].astype(bool)]
    assert list(masked["well"]) == ["C07"] and "outlier" in masked["mask_reason"].iloc[0]
    fit = store.read_table("curve_fits", "tyk2")
    c07 = [f for f in fit.itertuples() if "C07" in {p["well"] for p in json.loads(f.wells_json)}][0]
    assert c07.compound_id == "ejm_50" and "outliers_masked" in c07.flags
    agg = aggregate_measurements(m).set_index("compound_id")
    # Simulated from the published Ki 261.6 nM (pKi 6.58).
    assert agg.loc["ejm_50", "p_activity"] == pytest.approx(6.58, abs=0.1)
    # jmc_23 (Ki 0.5 nM) is below the lowest concentration: censored, never exact.
    assert agg.loc["jmc_23", "p_qualifier"] == ">" and (m[m.compound_id == "jmc_23"]["qualifier"] == "<").all()
    archived = list((tmp_path / "archive").iterdir())
    assert [p.read_bytes() for p in archived] == [(plates / "plate384_long.csv").read_bytes()]


def test_failing_controls_are_flagged_and_not_used_until_accepted(store, plates, tmp_path):
    rep = _up(store, plates / "plate96_failing_controls.csv", tmp_path)
    assert rep.status == "committed" and rep.failed_plates == ["PLT-0096-F"] and rep.exit_code == 1
    assert any("PLT-0096-F" in n and "--accept-plate" in n for n in rep.notes)
    assert store.count("measurements", "tyk2") == 0
    assert not curve_fit_table(store, "tyk2")["used"].any()
    refits = accept_plate(store, "tyk2", "PLT-0096-F", user="akim")
    assert len(refits) == 4 and all(r["used"] for r in refits)
    history = curve_fit_table(store, "tyk2", active_only=False)
    assert len(history) == 8 and set(history[~history["active"].astype(bool)]["superseded_by"]) == {
        r["fit_id"] for r in refits}
    plate = store.read_table("plates", "tyk2").iloc[0]
    assert plate.qc_status == "accepted" and plate.accepted_by == "akim"
    assert store.count("measurements", "tyk2") == 4
    with pytest.raises(BadInputError, match="not failed"):
        accept_plate(store, "tyk2", "PLT-0096-F")


def test_accept_plate_at_upload(store, plates, tmp_path):
    rep = _up(store, plates / "plate96_failing_controls.csv", tmp_path, accept_plates={"PLT-0096-F"})
    assert rep.plates[0]["status"] == "accepted" and store.count("measurements", "tyk2") == 4


def test_inactive_compound_and_bad_wells(store, plates, tmp_path):
    rep = _up(store, plates / "plate96_inactive.csv", tmp_path)
    by = {(e.column, e.value): e.reason for e in rep.errors}
    assert "unknown well" in by[("well", "Q5")]
    assert "must be > 0" in by[("concentration", "0")]
    short = [e for e in rep.errors if "3 concentration(s)" in e.reason and "ejm_50" in e.reason]
    assert [e.reason[:9] for e in short] == ["well E03:", "well E04:", "well E05:"]  # each left-out well named
    assert [e.value for e in short] == ["30000 nM", "10000 nM", "3333.33 nM"]
    assert rep.status == "committed" and rep.exit_code == 1 and rep.n_invalid == 5
    inactive = [c for c in rep.curves if c["compound_id"] == "inact_01"][0]
    assert inactive["curve_class"] == "inactive" and inactive["qualifier"] == ">"
    m = store.read_table("measurements", "tyk2").set_index("compound_id")
    assert m.loc["inact_01", "qualifier"] == ">" and m.loc["inact_01", "value_nm"] == pytest.approx(30000)
    assert "ejm_50" not in m.index  # left out: 3 concentrations only
    assert len(store.read_table("quarantine")) == 5
    classes = curve_classes_by_compound(store, "tyk2").set_index("compound_id")
    assert classes.loc["inact_01", "curve_classes"] == "inactive"


def test_masking_a_well_refits_and_supersedes_with_history(store, plates, tmp_path):
    _up(store, plates / "plate96_inactive.csv", tmp_path)
    before = store.read_table("measurements", "tyk2").set_index("compound_id").loc["jmc_30"]
    refits = mask_wells(store, "tyk2", "PLT-0096-I", ["C5"], "tip clogged", user="akim")
    assert len(refits) == 1 and refits[0]["compound_id"] == "jmc_30"
    assert refits[0]["masked_wells"][0][0] == "C05" and "tip clogged" in refits[0]["masked_wells"][0][1]
    m = store.read_table("measurements", "tyk2")
    old = m[m["id"] == before["id"]].iloc[0]
    assert not old["active"] and m[(m.compound_id == "jmc_30") & m.active.astype(bool)].shape[0] == 1
    well = store.read_table("plate_wells")
    assert well[well.well == "C05"]["masked"].astype(bool).all()
    fits = curve_fit_table(store, "tyk2", active_only=False)
    assert (fits["reason"].str.contains("masked C05 by akim")).sum() == 1
    with pytest.raises(BadInputError, match="in no fitted curve"):
        mask_wells(store, "tyk2", "PLT-0096-I", ["H12"], "x")


def test_unreadable_layout_stores_nothing_but_archives_the_file(store, tmp_path):
    bad = tmp_path / "reader.csv"
    bad.write_text("Plate: X1\n,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,4,5,6,7,8,9,10,11,12\nB,1,2\n")
    with pytest.raises(BadInputError, match="archived") as exc:
        _up(store, bad, tmp_path, plate_map=bad)
    assert "rows are not A-H" in str(exc.value)
    assert store.count("uploads") == 0 and len(list((tmp_path / "archive").iterdir())) == 2
    with pytest.raises(BadInputError, match="plate map"):
        _up(store, tmp_path / "reader.csv", tmp_path)


def test_dry_run_and_duplicate(store, plates, tmp_path):
    dry = _up(store, plates / "plate96_inactive.csv", tmp_path, dry_run=True)
    assert dry.status == "dry_run" and dry.curves and store.count("uploads") == 0
    assert not (tmp_path / "archive").exists()
    first = _up(store, plates / "plate96_inactive.csv", tmp_path)
    again = _up(store, plates / "plate96_inactive.csv", tmp_path)
    assert again.status == "duplicate" and again.upload_id == first.upload_id and again.exit_code == 2


def test_fitted_and_censored_potencies_train_the_model(store, plates, tmp_path):
    from chem.models.settings import ModelSettings
    from chem.models.train import train_activity_model

    _up(store, plates / "plate384_long.csv", tmp_path)
    _up(store, plates / "plate384_grid.csv", tmp_path, plate_map=plates / "plate384_map.csv")
    _up(store, plates / "plate96_inactive.csv", tmp_path)
    table, label = series_activities(store, "tyk2")
    assert label == "TYK2-LUMI (IC50)" and len(table) == 17
    row = table.set_index("compound_id")
    # One curve per plate, replicate curves averaged on the log scale: two 384-well runs and the 96-well plate.
    assert row.loc["ejm_31", "n_replicates"] == 3
    assert row.loc["ejm_31", "p_activity"] == pytest.approx(9 - 2.007, abs=0.1)  # simulated at Ki 101.7 nM
    assert row.loc["inact_01", "p_qualifier"] == "<" and row.loc["jmc_23", "p_qualifier"] == ">"
    train = table.rename(columns={"p_qualifier": "qualifier"})[["compound_id", "smiles", "p_activity", "qualifier"]]
    model = train_activity_model(train, ModelSettings(model_kinds=["knn"], cv_folds=3))
    assert model.metadata["n_train"] == 17 and model.metadata["n_censored"] == 2


def test_plate_without_controls_and_header_spellings(store, tmp_path):
    # Headers as another reader writes them: "Barcode", "Position", "Content", "Dose" + "Unit", "Fluorescence".
    lines = ["Barcode;Position;Content;Cmpd;Dose;Unit;Fluorescence;Protocol"]
    lines += [f"NOCTRL;A{c};sample;ejm_31;{30 / 3 ** c:.4g};uM;{1000 + 100 * c};K1" for c in range(1, 7)]
    lines += ["NOCTRL;H1;neutral;;;;5000;K1", "NOCTRL;H2;mystery;;;;5000;K1"]
    path = tmp_path / "noctrl.csv"
    path.write_text("\n".join(lines) + "\n")
    rep = _up(store, path, tmp_path)
    reasons = [e.reason for e in rep.errors]
    assert any("unknown well type" in r for r in reasons)
    assert any("plate NOCTRL has no low (inhibitor) control wells" in r and "7 wells are left out" in r
               for r in reasons)
    assert rep.status == "rejected" and rep.exit_code == 2 and store.count("uploads") == 0
    assert any("nothing was stored" in n for n in rep.notes)
