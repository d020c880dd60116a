"""Plates -> twin update: the sync trains on fitted (and censored) potencies, and the report shows
each potency's curve class."""

from __future__ import annotations

import pytest

from lab_sync.plates.plate_upload import upload_plate_file
from lab_sync.store import open_store
from pipeline.config import DEMO_CONFIG, load_config
from pipeline.twin_update import sync_project

FAST = ["model.model_kinds=[knn]", "model.cv_folds=3"]


@pytest.mark.slow
def test_sync_after_plate_upload_reports_curve_classes(tmp_path, testdata, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    store = open_store(db)
    plates = testdata / "plates"
    up = upload_plate_file(store, plates / "plate384_long.csv", "tyk2-plates", archive_dir=tmp_path / "a")
    upload_plate_file(store, plates / "plate96_inactive.csv", "tyk2-plates", archive_dir=tmp_path / "a")
    cfg = load_config(DEMO_CONFIG, [*FAST, f"results_dir={tmp_path / 'results'}", "project=tyk2-plates"])
    summary = sync_project(db, "tyk2-plates", upload_id=up.upload_id, config=cfg)
    assert summary["status"] == "completed", summary
    assert summary["inputs"]["n_measured_compounds"] == 17
    assert summary["model"]["n_train"] == 17
    html = (tmp_path / "results" / summary["run_id"] / "report.html").read_text()
    assert "curve: complete" in html and "curve: below_range" in html
