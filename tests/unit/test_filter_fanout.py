"""The chunked filter (fan-out) gives the serial filter's tables, on real Tyk2 candidates."""

from __future__ import annotations

import shutil

import pandas as pd

from pipeline import filter_fanout, run_context, stages
from pipeline.config import DEMO_CONFIG, load_config


def _sorted(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df[cols].sort_values(cols[:2]).reset_index(drop=True)


def test_chunked_filter_equals_serial_filter_with_cross_chunk_duplicates(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLTWIN_HOME", str(tmp_path / "home"))
    cfg = load_config(DEMO_CONFIG, ["generate.max_candidates=60", "screen.batch_size=13",
                                    f"results_dir={tmp_path / 'results'}"])
    serial = run_context.begin_run(cfg, f"sqlite:///{tmp_path / 'a.db'}")
    stages.stage_sync_measurements(serial)
    stages.stage_generate(serial)
    cands = pd.read_parquet(serial.path / "candidates.parquet")
    # Repeats that only a cross-chunk check can catch: an id reused for another structure in a
    # later chunk, a structure repeated under a new id, and a measured compound (registered).
    extra = pd.DataFrame({"compound_id": [cands.compound_id[0], "DUP-STRUCT", "DUP-STRUCT-2"],
                          "smiles": [cands.smiles[5], cands.smiles[1], cands.smiles[1]],
                          "origin": "test", "provenance": "{}"})
    measured = pd.read_parquet(serial.path / "measured.parquet").head(1)
    extra = pd.concat([extra, pd.DataFrame({"compound_id": ["REMAKE"], "smiles": measured.smiles,
                                            "origin": "test", "provenance": "{}"})], ignore_index=True)
    cands = pd.concat([cands, extra], ignore_index=True)
    cands.to_parquet(serial.path / "candidates.parquet", index=False)

    chunked = run_context.begin_run(cfg, f"sqlite:///{tmp_path / 'b.db'}")
    stages.stage_sync_measurements(chunked)
    shutil.copyfile(serial.path / "candidates.parquet", chunked.path / "candidates.parquet")

    a = stages.stage_filter(serial)
    n = filter_fanout.split_filter_chunks(chunked)
    assert n == -(-len(cands) // 13) > 4
    for i in reversed(range(n)):  # chunks are independent: any order, any worker
        filter_fanout.filter_chunk(chunked, i)
    b = stages.finish_filter(chunked, filter_fanout.combine_filter_chunks(chunked, n))

    assert {k: a[k] for k in ("n_kept", "n_rejected", "n_failed", "funnel")} == \
        {k: b[k] for k in ("n_kept", "n_rejected", "n_failed", "funnel")}
    for name, cols in (("filter_kept", ["compound_id", "inchikey", "smiles", "qed"]),
                       ("filter_rejected", ["compound_id", "inchikey", "rejected_by", "reasons"]),
                       ("failures_filter", ["compound_id", "reason_code", "message", "input_line"])):
        pd.testing.assert_frame_equal(_sorted(pd.read_parquet(serial.path / f"{name}.parquet"), cols),
                                      _sorted(pd.read_parquet(chunked.path / f"{name}.parquet"), cols))
    failures = pd.read_parquet(chunked.path / "failures_filter.parquet")
    assert {"duplicate_id", "duplicate_structure", "already_registered"} <= set(failures["reason_code"])
    assert not (chunked.path / filter_fanout.CHUNK_DIR).exists()  # chunk files are cleaned up
