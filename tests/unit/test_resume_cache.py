"""pipeline.resume: stage-cache hits, the registry guard of the filter and store replay on a hit."""

from __future__ import annotations

import pandas as pd

from lab_sync.store import open_store
from pipeline import resume, run_context, stages
from pipeline.config import DEMO_CONFIG, load_config

SMALL = ["generate.max_candidates=20", "model.model_kinds=[random_forest]", "model.n_estimators=20",
         "model.cv_folds=3"]


def _run(cfg, db: str) -> tuple[stages.RunContext, dict]:
    ctx = run_context.begin_run(cfg, db)
    stages.stage_sync_measurements(ctx)
    out = {"generate": resume.cached_generate(ctx), "filter": resume.cached_filter(ctx),
           "train": resume.cached_train_predict(ctx)}
    return ctx, out


def test_hits_reuse_tables_and_replay_store_writes_into_a_fresh_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, [*SMALL, f"results_dir={tmp_path / 'results'}"])
    first_ctx, first = _run(cfg, f"sqlite:///{tmp_path / 'a.db'}")
    assert [first[k]["cache"] for k in ("generate", "filter", "train")] == ["miss"] * 3
    admet = resume.cached_admet(first_ctx)

    # Same twin home, a new empty database (e.g. moving to PostgreSQL): everything is a hit, and the
    # store still gets the registered survivors, the model and the prediction ledger.
    db_b = f"sqlite:///{tmp_path / 'b.db'}"
    second_ctx, second = _run(cfg, db_b)
    assert [second[k]["cache"] for k in ("generate", "filter", "train")] == ["hit"] * 3
    assert second["filter"]["n_kept"] == first["filter"]["n_kept"]
    again = resume.cached_admet(second_ctx)
    if admet["n_admet"]:  # stored only when admet-ai predicted something
        assert again["cache"] == "hit" and again["note"] == admet["note"]
        assert (second_ctx.path / "admet_note.txt").read_text() == admet["note"]
    else:
        assert again["cache"] == "miss"
    for name in ("candidates", "filter_kept", "funnel", "predictions", *(["admet"] if admet["n_admet"] else [])):
        pd.testing.assert_frame_equal(pd.read_parquet(first_ctx.path / f"{name}.parquet"),
                                      pd.read_parquet(second_ctx.path / f"{name}.parquet"))
    store = open_store(db_b)
    assert store.count("compounds", cfg.project) == 16 + first["filter"]["n_kept"]
    assert store.count("models", cfg.project) == 1
    assert store.count("predictions", cfg.project) == first["train"]["n_predicted"]

    # A third run on database B: nothing is written twice.
    _run(cfg, db_b)
    assert store.count("predictions", cfg.project) == first["train"]["n_predicted"]
    assert store.count("compounds", cfg.project) == 16 + first["filter"]["n_kept"]


def test_filter_entry_is_stale_once_the_registry_gains_other_compounds(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, [*SMALL, f"results_dir={tmp_path / 'results'}"])
    db = f"sqlite:///{tmp_path / 'twin.db'}"
    ctx, first = _run(cfg, db)
    kept = pd.read_parquet(ctx.path / "filter_kept.parquet")

    # Its own survivors in the registry do not invalidate the entry (that is the resume case) ...
    assert _run(cfg, db)[1]["filter"]["cache"] == "hit"
    # ... another compound registered meanwhile does: it may now be a duplicate or change novelty.
    open_store(db).register_compounds(cfg.project, [{
        "compound_id": "LAB-1", "smiles": "Cc1ccc(C(=O)Nc2ccnc(NC(=O)C3CC3)c2)cc1", "origin": "lab",
        "inchikey": "XXXXXXXXXXXXXX-UHFFFAOYSA-N"}])
    third = _run(cfg, db)[1]
    assert third["filter"]["cache"] == "miss"
    # Recomputed against today's registry, the first run's survivors are now "already registered".
    failures = pd.read_parquet(_latest_run_dir(tmp_path) / "failures_filter.parquet")
    assert set(kept["compound_id"]) <= set(failures.loc[failures["reason_code"] == "already_registered",
                                                        "compound_id"])


def _latest_run_dir(tmp_path):
    return max((tmp_path / "results").iterdir(), key=lambda p: p.stat().st_mtime)
