"""Standardize -> filter -> (fingerprint) a molecule file of any size, on several processes.

The parent reads the input in chunks, worker processes run
:func:`chem.batch.process_batch` on them (catalogs, standardizers, the SA-score table
and the known-compound fingerprints are built once per worker by the pool
initializer), and the parent writes kept / rejected / failure rows as each chunk
comes back, in input order. At most ``2 x processes`` chunks are in flight, so
memory is one chunk per worker plus the deduplication index (an InChIKey and an id
per kept-or-rejected molecule, ~0.2 kB each) whatever the input size.

Repeated ids are split off as the input is read; workers deduplicate structures
within their chunk and the parent across chunks, in input order (first occurrence
wins; :mod:`chem.dedup`), so kept and failure rows are those of the serial
:func:`chem.batch.process_stream`.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chem.batch import DEDUP_CODES, BatchResult, process_batch
from chem.dedup import StreamDedup
from chem.filters import FUNNEL_COLUMNS, known_pairs
from chem.settings import FilterSettings, StandardizeSettings
from chem.standardize import StandardizeState


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, sent once per process (not once per chunk)."""

    filter_settings: FilterSettings
    standardize_settings: StandardizeSettings
    known: tuple[tuple[str, str], ...] | None = None
    registered: frozenset[str] = frozenset()
    fingerprint: tuple[int, int] | None = None
    deduplicate: bool = True


_WORKER: dict = {}


def init_worker(config: WorkerConfig) -> None:
    """Pool initializer: keep the config and build every per-process cache now."""
    from chem.filters import _known_fingerprints
    from chem.properties import _sascorer, alert_catalog
    from chem.standardize import _atom_queries, _tools

    _WORKER["config"] = config
    fs = config.filter_settings
    for name in fs.alert_catalogs:
        alert_catalog(name)
    if config.known is not None or fs.novelty_max_tanimoto is not None:
        _known_fingerprints(config.known or (), fs.novelty_radius, fs.novelty_n_bits)
    _sascorer()
    _tools(config.standardize_settings.canonical_tautomer)
    _atom_queries()


def run_chunk(chunk: pd.DataFrame) -> BatchResult:
    """Standardize and filter one chunk with the worker's config (deduplication within it)."""
    cfg: WorkerConfig = _WORKER["config"]
    state = StandardizeState(cfg.registered, check_structures=cfg.deduplicate)
    return process_batch(chunk, cfg.filter_settings, cfg.standardize_settings,
                         known_smiles=dict(cfg.known) if cfg.known is not None else None,
                         state=state, fingerprint=cfg.fingerprint)


def run_filter(chunks: Iterable[pd.DataFrame], filter_settings: FilterSettings | None = None,
               standardize_settings: StandardizeSettings | None = None, *,
               known_smiles: Sequence[str] | Mapping[str, str] | None = None,
               registered_inchikeys: Iterable[str] | None = None, processes: int = 1,
               fingerprint: tuple[int, int] | None = None, deduplicate: bool = True
               ) -> Iterator[BatchResult]:
    """Standardize, deduplicate and filter a stream of chunks; yields results in input order.

    Parameters
    ----------
    chunks
        DataFrames with ``compound_id, smiles`` (+ ``input_line``, extras).
    filter_settings, standardize_settings
        Stage settings (defaults when ``None``).
    known_smiles
        Reference compounds for novelty (SMILES list or id -> SMILES).
    registered_inchikeys
        Structures already in the twin (fail as ``already_registered``).
    processes
        Worker processes; ``1`` runs in this process (same code, no pool).
    fingerprint
        ``(radius, n_bits)`` to add a packed Morgan fingerprint to kept rows.
    deduplicate
        Deduplicate structures (ids are always deduplicated).

    Yields
    ------
    BatchResult
        One per chunk, already deduplicated against every earlier chunk.
    """
    config = WorkerConfig(filter_settings or FilterSettings(),
                          standardize_settings or StandardizeSettings(),
                          known_pairs(known_smiles), frozenset(registered_inchikeys or ()),
                          fingerprint, deduplicate)
    dedup = StreamDedup(structures=deduplicate)
    if processes <= 1:
        init_worker(config)
        for chunk in chunks:
            unique, id_failures = dedup.split_ids(chunk)
            yield dedup.apply(run_chunk(unique), len(chunk), id_failures)
        return
    # forkserver: workers never inherit the parent's threads (Arrow writer pools) or locks.
    context = multiprocessing.get_context("forkserver")
    # Imported once in the fork server, so each worker starts without re-importing RDKit.
    context.set_forkserver_preload(["chem.pipeline"])
    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=init_worker,
                               initargs=(config,))
    pending: deque = deque()
    try:
        for chunk in chunks:
            unique, id_failures = dedup.split_ids(chunk)
            pending.append((pool.submit(run_chunk, unique), len(chunk), id_failures))
            if len(pending) >= 2 * processes:  # bounded: memory does not grow with the input
                future, n, fails = pending.popleft()
                yield dedup.apply(future.result(), n, fails)
        while pending:
            future, n, fails = pending.popleft()
            yield dedup.apply(future.result(), n, fails)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class FunnelTotals:
    """Running sum of chunk funnels, step order kept."""

    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, funnel: pd.DataFrame) -> None:
        for step, n_in, n_rej, n_out in funnel[FUNNEL_COLUMNS].itertuples(index=False):
            row = self.counts.setdefault(step, [0, 0, 0])
            row[0] += int(n_in)
            row[1] += int(n_rej)
            row[2] += int(n_out)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([[s, *c] for s, c in self.counts.items()], columns=FUNNEL_COLUMNS)


def drain(results: Iterable[BatchResult], sinks: Mapping[str, object], *,
          progress: Callable[[int], None] | None = None, keep_failures: int = 20) -> dict:
    """Write each result's tables to ``sinks`` (``kept``/``rejected``/``failures``) and count.

    Returns
    -------
    dict
        ``n_input, n_kept, n_rejected, n_failed, failure_counts, first_failures, funnel``.
    """
    totals = FunnelTotals()
    counts: dict[str, int] = {}
    first: list[dict] = []
    n = {"kept": 0, "rejected": 0, "failures": 0}
    for result in results:
        totals.add(result.funnel)
        for name in n:
            table = getattr(result, name)
            n[name] += len(table)
            if name in sinks:
                sinks[name].write(table)
        for rec in result.failures.to_dict("records"):
            counts[rec["reason_code"]] = counts.get(rec["reason_code"], 0) + 1
            if len(first) < keep_failures:
                line = rec["input_line"]
                first.append({"compound_id": rec["compound_id"],
                              "input_line": None if pd.isna(line) else int(line),
                              "reason_code": rec["reason_code"], "message": rec["message"]})
        if progress is not None:
            progress(int(result.funnel["n_in"].iloc[0]))
    funnel = totals.frame()
    n_input = int(funnel["n_in"].iloc[0]) if len(funnel) else 0
    return {"n_input": n_input, "n_kept": n["kept"], "n_rejected": n["rejected"],
            "n_failed": n["failures"], "n_deduplicated": sum(counts.get(c, 0) for c in DEDUP_CODES),
            "failure_counts": counts, "first_failures": first, "funnel": funnel}


def filter_file(in_path: str | Path, out_path: str | Path,
                filter_settings: FilterSettings | None = None,
                standardize_settings: StandardizeSettings | None = None, *,
                rejected_path: str | Path | None = None, failures_path: str | Path | None = None,
                funnel_path: str | Path | None = None,
                known_smiles: Sequence[str] | Mapping[str, str] | None = None,
                registered_inchikeys: Iterable[str] | None = None, processes: int = 1,
                chunk_size: int = 1000, fingerprint: tuple[int, int] | None = None,
                deduplicate: bool = True, read_options: Mapping | None = None,
                progress: Callable[[int], None] | None = None) -> dict:
    """Filter a molecule file into kept / rejected / failure tables, streaming.

    Parameters
    ----------
    in_path
        ``.smi``, ``.sdf``, ``.csv``/``.tsv`` or ``.parquet`` (see :func:`chem.io.read_molecules`).
    out_path, rejected_path, failures_path, funnel_path
        Outputs (``.parquet``, ``.csv``, ``.sdf``, ``.smi``); only ``out_path`` is required.
    processes, chunk_size
        Worker processes and molecules per chunk.
    read_options
        Passed to the reader (e.g. ``smiles_column``, ``id_column``).
    Other parameters
        As in :func:`run_filter`.

    Returns
    -------
    dict
        Counts, failure counts by reason, the first failures, the funnel (records),
        ``elapsed_s``, ``molecules_per_s`` and the written paths.

    Raises
    ------
    moltwin.errors.BadInputError
        Missing, empty or malformed input file, or an unknown output type; no output
        file is left behind.
    """
    from chem.io import read_molecules
    from chem.sinks import TableSink, write_frame

    start = time.perf_counter()
    paths = {"kept": out_path, "rejected": rejected_path, "failures": failures_path}
    sinks = {name: TableSink(p) for name, p in paths.items() if p is not None}
    if funnel_path is not None:
        TableSink(funnel_path)  # validate the suffix before any work
    chunks = read_molecules(in_path, batch_size=chunk_size, **dict(read_options or {}))
    try:
        summary = drain(run_filter(chunks, filter_settings, standardize_settings,
                                   known_smiles=known_smiles,
                                   registered_inchikeys=registered_inchikeys,
                                   processes=processes, fingerprint=fingerprint,
                                   deduplicate=deduplicate), sinks, progress=progress)
    except BaseException:
        for sink in sinks.values():
            sink.abort()
        raise
    written = {name: str(sink.close()) for name, sink in sinks.items()}
    if funnel_path is not None:
        written["funnel"] = str(write_frame(summary["funnel"], funnel_path))
    elapsed = time.perf_counter() - start
    summary["funnel"] = summary["funnel"].to_dict("records")
    summary.update(elapsed_s=round(elapsed, 3), processes=processes, chunk_size=chunk_size,
                   molecules_per_s=round(summary["n_input"] / elapsed, 1) if elapsed else None,
                   outputs=written)
    return summary
