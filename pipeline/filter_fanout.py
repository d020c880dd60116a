"""The filter stage split into independent chunks, for fan-out over processes or a cluster.

:func:`split_filter_chunks` writes the candidates in chunks (plus one registry snapshot)
under ``<run>/filter_chunks/``, splitting off ids repeated from an earlier chunk as it goes;
:func:`filter_chunk` standardizes and filters one chunk with no shared state, so chunks can
run on any worker that sees the run folder; :func:`combine_filter_chunks` merges them in
input order and moves structures an earlier chunk already had into the failures. Both steps
use :class:`chem.dedup.StreamDedup`, so the tables equal :func:`pipeline.stages.stage_filter`'s
serial stream: same kept and rejected rows, same failures, same funnel.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd

from chem.batch import BatchResult, combine_results, process_batch
from chem.dedup import StreamDedup
from chem.standardize import failures_frame
from moltwin.records import FailureRecord

CHUNK_DIR = "filter_chunks"
_PARTS = ("kept", "rejected", "failures", "funnel")


def split_filter_chunks(ctx) -> int:
    """Write ``in-<i>.parquet`` chunks, their repeated-id failures and ``registry.parquet``;
    returns the number of chunks."""
    from lab_sync.store import open_store

    cfg = ctx.config
    out = ctx.path / CHUNK_DIR
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    registry = open_store(ctx.db_url).read_table("compounds", cfg.project)
    registry[["compound_id", "canonical_smiles", "inchikey"]].to_parquet(out / "registry.parquet", index=False)
    candidates = pd.read_parquet(ctx.path / "candidates.parquet")
    size, dedup, n_in = cfg.screen.batch_size, StreamDedup(), []
    for i in range(max(1, -(-len(candidates) // size))):
        chunk = candidates.iloc[i * size:(i + 1) * size]
        n_in.append(len(chunk))
        chunk, id_failures = dedup.split_ids(chunk)
        chunk.to_parquet(out / f"in-{i:05d}.parquet", index=False)
        failures_frame(id_failures).to_parquet(out / f"ids-{i:05d}.parquet", index=False)
    (out / "chunks.json").write_text(json.dumps({"n_in": n_in}))
    return len(n_in)


def filter_chunk(ctx, index: int) -> dict:
    """Standardize, deduplicate (within the chunk and against the registry) and filter one chunk."""
    cfg = ctx.config
    folder = ctx.path / CHUNK_DIR
    chunk = pd.read_parquet(folder / f"in-{index:05d}.parquet")
    registry = pd.read_parquet(folder / "registry.parquet")
    result = process_batch(chunk, cfg.filter, cfg.standardize,
                           registered_inchikeys=set(registry["inchikey"]),
                           known_smiles=dict(zip(registry["compound_id"], registry["canonical_smiles"])))
    for name in _PARTS:
        getattr(result, name).to_parquet(folder / f"out-{index:05d}-{name}.parquet", index=False)
    return {"index": index, "n_in": int(len(chunk)), "n_kept": int(len(result.kept))}


def _records(frame: pd.DataFrame) -> list[FailureRecord]:
    return [FailureRecord(**{k: (None if pd.isna(v) else v) for k, v in row.items()})
            for row in frame.to_dict("records")]


def combine_filter_chunks(ctx, n_chunks: int, *, cleanup: bool = True) -> BatchResult:
    """Merge the chunk results in input order, deduplicating structures across chunks."""
    folder = ctx.path / CHUNK_DIR
    n_in = json.loads((folder / "chunks.json").read_text())["n_in"]
    dedup, parts = StreamDedup(), []
    for i in range(n_chunks):
        part = BatchResult(*(pd.read_parquet(folder / f"out-{i:05d}-{name}.parquet") for name in _PARTS))
        parts.append(dedup.apply(part, n_in[i], _records(pd.read_parquet(folder / f"ids-{i:05d}.parquet"))))
    if cleanup:
        shutil.rmtree(folder, ignore_errors=True)
    return combine_results(parts)
