"""The prediction ledger scores only what the twin said *before* a measurement arrived."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab_sync.ledger import CYCLE_COLUMNS, ledger_entries, score_ledger
from lab_sync.store import open_store
from lab_sync.twin_records import record_predictions, series_activities
from lab_sync.upload import upload_assay_file


@pytest.fixture()
def store(db_url):
    return open_store(db_url)  # SQLite and PostgreSQL


@pytest.fixture()
def tyk2_batches(tmp_path, repo_dir):
    """The Tyk2 measurements split in two uploads: 10 ligands first, 6 later."""
    lines = (repo_dir / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    first, later = tmp_path / "first.csv", tmp_path / "later.csv"
    first.write_text("\n".join([lines[0], *lines[1:11]]) + "\n")
    later.write_text("\n".join([lines[0], *lines[11:]]) + "\n")
    return first, later, [ln.split(",")[0] for ln in lines[11:]]


def _upload(store, path, tmp_path, **kw):
    rep = upload_assay_file(store, path, "p", archive_dir=tmp_path / "archive", **kw)
    assert rep.status == "committed", rep.to_dict()
    return rep


def _predictions(ids, values, half_80, half_90):
    values = np.asarray(values, float)
    return pd.DataFrame({"compound_id": ids, "pred_p_activity": values, "pred_std": half_80 / 1.28,
                         "lower_80": values - half_80, "upper_80": values + half_80,
                         "lower_90": values - half_90, "upper_90": values + half_90,
                         "max_train_similarity": 0.6, "in_domain": True})


def test_empty_ledger_has_the_columns(store):
    assert list(score_ledger(store, "p").columns) == CYCLE_COLUMNS
    assert ledger_entries(store, "p").empty


def test_prospective_predictions_are_scored_per_cycle(store, tyk2_batches, tmp_path):
    first, later, later_ids = tyk2_batches
    reference = open_store(str(tmp_path / "reference.db"))  # the aggregated truth of all 16
    _upload(reference, first, tmp_path)
    _upload(reference, later, tmp_path)
    truth = series_activities(reference, "p")[0].set_index("compound_id")["p_activity"]

    store2 = store
    _upload(store2, first, tmp_path)
    first_ids = list(series_activities(store2, "p")[0]["compound_id"])
    everything = first_ids + later_ids
    offsets = np.array([0.5, -0.5, 1.0, -1.0, 0.25, 2.0])  # model m1's errors on the later six
    m1_vals = list(truth[first_ids]) + list(truth[later_ids].to_numpy() + offsets)
    record_predictions(store2, "p", _predictions(everything, m1_vals, 0.8, 1.2), "m1", run_id="run1")
    _upload(store2, later, tmp_path)
    record_predictions(store2, "p", _predictions(everything, np.full(16, 7.0), 0.8, 1.2), "m2", run_id="run2")

    cycles = score_ledger(store2, "p").set_index("model_id")
    m1, m2 = cycles.loc["m1"], cycles.loc["m2"]
    # The first ten were measured before m1 predicted them: not prospective.
    assert m1["n_predicted"] == 16 and m1["n_prospective"] == 6 and m1["n_exact"] == 6
    assert m1["rmse"] == pytest.approx(np.sqrt(np.mean(offsets ** 2)), abs=1e-3)
    assert m1["bias"] == pytest.approx(offsets.mean(), abs=1e-3)
    assert m1["coverage_80"] == pytest.approx(3 / 6)  # |error| <= 0.8: 0.5, 0.5, 0.25; not 1, 1, 2
    assert m1["coverage_90"] == pytest.approx(5 / 6)  # 1.0 within 1.2; 2.0 is not
    assert m1["cycle"] == 1 and m1["run_ids"] == "run1"
    assert m2["n_prospective"] == 0 and np.isnan(m2["rmse"]) and m2["cycle"] == 2
    entries = ledger_entries(store2, "p")
    assert set(entries["compound_id"]) == set(later_ids) and set(entries["model_id"]) == {"m1"}


def test_latest_prediction_before_the_measurement_counts(store, tyk2_batches, tmp_path):
    first, later, later_ids = tyk2_batches
    _upload(store, first, tmp_path)
    record_predictions(store, "p", _predictions(later_ids, np.full(6, 3.0), 0.5, 0.6), "m1")
    record_predictions(store, "p", _predictions(later_ids, np.full(6, 7.0), 0.5, 0.6), "m1")
    _upload(store, later, tmp_path)
    record_predictions(store, "p", _predictions(later_ids, np.full(6, 1.0), 0.5, 0.6), "m1")  # too late
    entries = ledger_entries(store, "p")
    assert len(entries) == 6 and (entries["pred_p_activity"] == 7.0).all()


def test_censored_measurements_are_counted_apart(store, testdata, tmp_path):
    """messy_mixed.csv: compound 007 exact (IC50 120 and 95 nM), 008 censored (IC50 > 10 µM, pIC50 < 5)."""
    preds = pd.DataFrame({"compound_id": ["007", "008"], "pred_p_activity": [7.2, 5.5], "pred_std": [0.4, 0.4],
                          "lower_80": [6.7, 4.8], "upper_80": [7.7, 6.2], "lower_90": [6.5, 4.6],
                          "upper_90": [7.9, 6.4], "max_train_similarity": 0.5, "in_domain": [True, False]})
    store.ensure_project("p")
    record_predictions(store, "p", preds, "mA")
    upload_assay_file(store, testdata / "assays" / "messy_mixed.csv", "p", archive_dir=tmp_path / "a")
    cyc = score_ledger(store, "p").iloc[0]
    p007 = (9 - np.log10(120) + 9 - np.log10(95)) / 2
    assert cyc["n_exact"] == 1 and cyc["n_censored"] == 1
    assert cyc["rmse"] == pytest.approx(abs(7.2 - p007), abs=1e-3) and np.isnan(cyc["spearman"])
    assert cyc["coverage_80"] == 1.0
    assert cyc["censored_point_agree"] == 0.0  # predicted 5.5 but measured below 5
    assert cyc["censored_hit_80"] == 1.0       # the 80 % interval reaches below 5 (4.8)
    entries = ledger_entries(store, "p").set_index("compound_id")
    assert entries.loc["008", "measured_qualifier"] == "<" and np.isnan(entries.loc["008", "error"])


def test_superseded_uploads_still_date_the_first_measurement(store, tyk2_batches, tmp_path):
    """A value that reached the twin in a later-corrected upload was known from then on."""
    first, later, later_ids = tyk2_batches
    _upload(store, first, tmp_path)
    wrong = _upload(store, later, tmp_path)
    record_predictions(store, "p", _predictions(later_ids, np.full(6, 7.0), 0.5, 0.6), "m1")
    corrected = tmp_path / "later_fixed.csv"
    corrected.write_text(later.read_text().replace("2015-01-01", "2015-01-02"))
    _upload(store, corrected, tmp_path, supersedes=wrong.upload_id)
    assert ledger_entries(store, "p").empty
