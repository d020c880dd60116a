"""Two uploads, and two syncs, of one project at the same moment: everything stored once, nothing lost,
no "database is locked". On both backends (``db_url``: SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

import pandas as pd
import pytest

from lab_sync.store import open_store
from lab_sync.upload import default_structure_key, upload_assay_file
from pipeline.config import DEMO_CONFIG, load_config
from pipeline.twin_update import sync_project

FAST_MODEL = ["model.model_kinds=[knn,random_forest]", "model.n_estimators=30", "model.cv_folds=3"]


def _tyk2_parts(repo_dir, folder: Path, cuts: list[int]) -> list[Path]:
    lines = (repo_dir / "data" / "tyk2" / "tyk2_measurements.csv").read_text().splitlines()
    bounds = [1, *cuts, len(lines)]
    paths = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        path = folder / f"part{i}.csv"
        path.write_text("\n".join([lines[0], *lines[a:b]]) + "\n")
        paths.append(path)
    return paths


def _upload_in_child(db: str, path: str, archive: str, barrier, results) -> None:
    store = open_store(db)
    barrier.wait()
    try:
        rep = upload_assay_file(store, Path(path), "p", archive_dir=Path(archive))
        results.put((path, rep.status, rep.upload_id))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        results.put((path, "error", repr(exc)))


def _race_uploads(db: str, files: list[Path], archive: Path) -> list[tuple]:
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(len(files)), ctx.Queue()
    procs = [ctx.Process(target=_upload_in_child, args=(db, str(f), str(archive), barrier, results)) for f in files]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return out


@pytest.mark.parametrize("attempt", [1, 2])
def test_two_different_uploads_into_a_new_project_are_both_stored(tmp_path, repo_dir, attempt, db_url):
    files = _tyk2_parts(repo_dir, tmp_path, [9])
    db = db_url
    open_store(db)
    out = _race_uploads(db, files, tmp_path / "archive")
    assert sorted(status for _, status, _ in out) == ["committed", "committed"], out
    store = open_store(db)
    assert store.count("uploads", "p") == 2 and store.count("measurements", "p") == 16
    assert store.count("projects") == 1


@pytest.mark.parametrize("attempt", [1, 2])
def test_the_same_file_sent_twice_at_once_is_stored_once(tmp_path, repo_dir, attempt, db_url):
    (path,) = _tyk2_parts(repo_dir, tmp_path, [])
    db = db_url
    open_store(db)
    out = _race_uploads(db, [path, path], tmp_path / "archive")
    assert sorted(status for _, status, _ in out) == ["committed", "duplicate"], out
    assert len({upload_id for *_, upload_id in out}) == 1  # the duplicate names the stored upload
    store = open_store(db)
    assert store.count("uploads", "p") == 1 and store.count("measurements", "p") == 16


def test_syncs_of_one_project_are_serialized_and_other_projects_are_not(db_url):
    import time

    from pipeline.twin_update import project_sync_lock

    store = open_store(db_url)
    spans: dict[str, tuple[float, float]] = {}
    barrier = threading.Barrier(3)

    def hold(name: str, project: str) -> None:
        barrier.wait()
        with project_sync_lock(store, project):
            start = time.monotonic()
            time.sleep(0.4)
            spans[name] = (start, time.monotonic())

    threads = [threading.Thread(target=hold, args=a) for a in (("a", "p"), ("b", "p"), ("c", "other"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    (a0, a1), (b0, b1), (c0, c1) = spans["a"], spans["b"], spans["c"]
    assert b0 >= a1 or a0 >= b1  # same project: one after the other
    assert c0 < min(a1, b1)  # another project's sync does not wait for them


@pytest.mark.slow
def test_two_upload_and_sync_pipelines_at_once_lose_nothing(tmp_path, repo_dir, monkeypatch, db_url):
    """Each thread uploads its own file and syncs. Syncs are serialized, so the sync that finishes
    last has trained on both uploads (no lost update)."""
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    base, part_a, part_b = _tyk2_parts(repo_dir, tmp_path, [9, 13])
    db = db_url
    store = open_store(db)
    upload_assay_file(store, base, "tyk2-demo", archive_dir=tmp_path / "archive")
    designs = []
    for line in (part_a.read_text().splitlines()[1:] + part_b.read_text().splitlines()[1:]):
        cid, smiles = line.split(",")[:2]
        canonical, key = default_structure_key(smiles)
        designs.append({"compound_id": cid, "smiles": canonical, "inchikey": key, "origin": "design"})
    store.register_compounds("tyk2-demo", designs)
    cfg = load_config(DEMO_CONFIG, [*FAST_MODEL, f"results_dir={tmp_path / 'results'}"])
    barrier, results, errors = threading.Barrier(2), {}, []

    def pipeline(path: Path) -> None:
        try:
            barrier.wait()
            rep = upload_assay_file(open_store(db), path, "tyk2-demo", archive_dir=tmp_path / "archive")
            results[path.name] = (rep, sync_project(db, "tyk2-demo", rep.upload_id, config=cfg))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=pipeline, args=(p,)) for p in (part_a, part_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert {rep.status for rep, _ in results.values()} == {"committed"}
    assert store.count("measurements", "tyk2-demo") == 16 and store.count("uploads", "tyk2-demo") == 3
    runs = store.read_table("runs", "tyk2-demo").sort_values("started_at")
    assert list(runs["status"]) == ["completed", "completed"]
    # Serialized: the second sync started after the first one finished.
    started, finished = pd.to_datetime(runs["started_at"]), pd.to_datetime(runs["finished_at"])
    assert started.iloc[1] >= finished.iloc[0]
    last = [s for _, s in results.values() if s["run_id"] == runs["run_id"].iloc[-1]][0]
    assert len(last["inputs"]["uploads_included"]) == 3 and last["model"]["n_train"] == 16
