"""The content-addressed stage cache, transient-failure classification and the chunked filter."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline import stage_cache
from pipeline.config import DEMO_CONFIG, load_config
from pipeline.stage_cache import StageSpec, find_entry, restore_entry, save_entry, stage_key
from moltwin.transient import TransientError, call_with_retries, is_transient_exception, is_transient_record

SPEC = StageSpec("demo_stage", inputs=("table_in",), outputs=("table_out", "optional_out"),
                 settings=lambda c: {"filter": c.filter}, code=("pipeline/stage_cache.py",))


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MOLTWIN_STAGE_CACHE", raising=False)
    return tmp_path / "home"


def _run_dir(tmp_path, name, rows):
    run = tmp_path / name
    run.mkdir()
    pd.DataFrame(rows).to_parquet(run / "table_in.parquet", index=False)
    return run


def test_key_follows_content_settings_and_ignores_provenance_columns(tmp_path, home):
    cfg = load_config(DEMO_CONFIG)
    a = _run_dir(tmp_path, "a", {"compound_id": ["x", "y"], "smiles": ["CCO", "CCN"], "upload_ids": ["u1", "u2"]})
    b = _run_dir(tmp_path, "b", {"compound_id": ["x", "y"], "smiles": ["CCO", "CCN"], "upload_ids": ["u9", "u8"]})
    c = _run_dir(tmp_path, "c", {"compound_id": ["x", "y"], "smiles": ["CCO", "CCC"], "upload_ids": ["u1", "u2"]})
    key = stage_key(SPEC, a, cfg)
    assert stage_key(SPEC, b, cfg) == key  # same molecules from another database's uploads
    assert stage_key(SPEC, c, cfg) != key  # one structure changed
    other = load_config(DEMO_CONFIG, ["filter.novelty_max_tanimoto=0.9"])
    assert stage_key(SPEC, a, other) != key  # a setting the stage uses changed
    assert stage_key(SPEC, a, load_config(DEMO_CONFIG, ["screen.simulate_top_n=7"])) == key  # one it does not


def test_entries_round_trip_atomically_and_can_be_turned_off(tmp_path, home, monkeypatch):
    run = _run_dir(tmp_path, "run", {"compound_id": ["x"], "smiles": ["CCO"]})
    pd.DataFrame({"v": [1.5, 2.5]}).to_parquet(run / "table_out.parquet", index=False)
    key = "k" * 64
    assert find_entry(SPEC, key) is None
    # A run killed while writing leaves only a hidden temporary folder: never read as an entry.
    (home / "cache" / "stages" / SPEC.name / key / ".tmp-_-123-abcd").mkdir(parents=True)
    assert find_entry(SPEC, key) is None
    save_entry(SPEC, key, run, {"n": 2, "funnel": [{"n_in": pd.Series([3]).iloc[0]}]})
    entry = find_entry(SPEC, key)
    assert entry.result == {"n": 2, "funnel": [{"n_in": 3}]}  # numpy ints stored as numbers
    assert entry.meta["tables"] == ["table_out"]  # optional outputs that were not written are skipped
    new_run = tmp_path / "new"
    new_run.mkdir()
    restored = restore_entry(entry, new_run)
    assert restored["cache"] == "hit" and restored["n"] == 2
    pd.testing.assert_frame_equal(pd.read_parquet(new_run / "table_out.parquet"),
                                  pd.read_parquet(run / "table_out.parquet"))
    assert find_entry(SPEC, key, accept=lambda e: False) is None  # a guard can veto an entry
    monkeypatch.setenv("MOLTWIN_STAGE_CACHE", "off")
    assert find_entry(SPEC, key) is None


def test_unreadable_entry_is_ignored(tmp_path, home):
    key = "u" * 64
    bad = home / "cache" / "stages" / SPEC.name / key / "_"
    bad.mkdir(parents=True)
    (bad / "result.json").write_text("{truncated")
    (bad / "meta.json").write_text(json.dumps({"tables": []}))
    assert find_entry(SPEC, key) is None


def test_transient_failures_are_told_from_chemistry_failures():
    assert is_transient_record({"status": "failed", "reason_code": "unexpected_error",
                                "message": "OpenMMException: Error creating context: CUDA_ERROR_OUT_OF_MEMORY"})
    busy = "platform CUDA failed to create a Context: all CUDA-capable devices are busy"
    assert is_transient_record({"status": "failed", "reason_code": "ConfigError", "message": busy})
    assert not is_transient_record({"status": "failed", "reason_code": "embedding_failed",
                                    "message": "RDKit could not embed the ligand"})
    assert not is_transient_record({"status": "ok", "message": "out of memory"})
    assert is_transient_exception(TransientError("x"))
    assert is_transient_exception(OSError(5, "Input/output error"))
    assert not is_transient_exception(FileNotFoundError("missing.pdb"))
    assert not is_transient_exception(ValueError("bad smiles"))
    wrapped = RuntimeError("store failed")
    wrapped.__cause__ = type("OperationalError", (Exception,), {})("server closed the connection")
    assert is_transient_exception(wrapped)


def test_call_with_retries_backs_off_on_transient_errors_only():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("GPU busy")
        return "done"

    assert call_with_retries(flaky, retries=3, base_delay_s=1.0, sleep=sleeps.append) == "done"
    assert sleeps == [1.0, 2.0]  # exponential backoff
    with pytest.raises(ValueError):
        call_with_retries(lambda: (_ for _ in ()).throw(ValueError("chemistry")), sleep=sleeps.append)
    assert sleeps == [1.0, 2.0]  # no retry for a non-transient error
