"""Standardize -> filter on one chunk of molecules, and over a stream of chunks.

:func:`process_batch` parses each SMILES once and hands the standardized
molecule straight to the filters, so each property is computed once. It takes
and returns only DataFrames, so :mod:`chem.pipeline` maps it over chunks in worker
processes (catalogs and fingerprints are cached per process). Memory stays flat
in library size: :func:`process_stream` holds one chunk plus the set of
InChIKeys seen so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from chem.featurize import packed_morgan
from chem.filters import FUNNEL_COLUMNS, apply_filters, funnel_table
from chem.settings import FilterSettings, StandardizeSettings
from chem.standardize import StandardizeState, failures_frame, rows_frame, standardize_records

DEDUP_CODES = {"duplicate_id", "duplicate_structure", "already_registered"}
FINGERPRINT_COLUMN = "morgan_fp"


@dataclass
class BatchResult:
    """Outcome of one chunk.

    Attributes
    ----------
    kept
        Standardized columns (``compound_id, smiles, inchikey, input_smiles,
        input_line``, extras) + property columns (+ ``morgan_fp`` when asked).
    rejected
        The same + ``rejected_by`` and ``reasons``.
    failures
        FailureRecord rows of standardization and deduplication.
    funnel
        ``step, n_in, n_rejected, n_out``: ``standardize``, ``deduplicate``, then the filters.
    """

    kept: pd.DataFrame
    rejected: pd.DataFrame
    failures: pd.DataFrame
    funnel: pd.DataFrame


def process_batch(chunk: pd.DataFrame, filter_settings: FilterSettings | None = None,
                  standardize_settings: StandardizeSettings | None = None, *,
                  registered_inchikeys: Iterable[str] | None = None,
                  known_smiles: Sequence[str] | Mapping[str, str] | None = None,
                  state: StandardizeState | None = None,
                  fingerprint: tuple[int, int] | None = None) -> BatchResult:
    """Standardize, deduplicate and filter one chunk.

    Parameters
    ----------
    chunk
        ``compound_id, smiles`` (+ optional ``input_line`` and extra columns).
    filter_settings, standardize_settings
        Stage settings (defaults when ``None``).
    registered_inchikeys
        Structures already in the twin (fail as ``already_registered``); ignored
        when ``state`` is given.
    known_smiles
        Reference compounds for novelty.
    state
        Dedup state shared across chunks of one serial stream.
    fingerprint
        ``(radius, n_bits)``: add the packed Morgan fingerprint of each kept
        molecule as ``morgan_fp`` (see :func:`chem.featurize.packed_morgan`),
        computed from the molecules already in memory.

    Returns
    -------
    BatchResult
    """
    state = state or StandardizeState(registered_inchikeys)
    rows, mols, failures = standardize_records(chunk, standardize_settings, state)
    ok = rows_frame(rows, list(chunk.columns))
    filtered = apply_filters(ok, filter_settings, known_smiles, mols=mols)
    kept = filtered.kept
    if fingerprint is not None:
        mol_of = dict(zip((r["compound_id"] for r in rows), mols))  # ids are unique by now
        kept[FINGERPRINT_COLUMN] = packed_morgan([mol_of[c] for c in kept["compound_id"]],
                                                 radius=fingerprint[0], n_bits=fingerprint[1])
    failed = failures_frame(failures)
    steps = list(filtered.funnel["step"])
    funnel = chunk_funnel(len(chunk), failed["reason_code"], filtered.rejected["rejected_by"], steps)
    return BatchResult(kept, filtered.rejected, failed, funnel)


def chunk_funnel(n_in: int, failure_codes: Iterable[str], rejected_by: Iterable[str],
                 steps: Sequence[str]) -> pd.DataFrame:
    """Funnel of one chunk: ``standardize``, ``deduplicate``, then the filter ``steps``.

    Parameters
    ----------
    n_in
        Rows that entered the chunk.
    failure_codes
        ``reason_code`` of every failure row (dedup codes count under ``deduplicate``).
    rejected_by
        First failing filter step of every rejected row.
    steps
        Enabled filter steps, in order.
    """
    codes = list(failure_codes)
    n_dedup = sum(c in DEDUP_CODES for c in codes)
    n_std = len(codes) - n_dedup
    head = pd.DataFrame([
        {"step": "standardize", "n_in": n_in, "n_rejected": n_std, "n_out": n_in - n_std},
        {"step": "deduplicate", "n_in": n_in - n_std, "n_rejected": n_dedup,
         "n_out": n_in - n_std - n_dedup}], columns=FUNNEL_COLUMNS)
    tail = funnel_table(n_in - n_std - n_dedup, list(rejected_by), steps)
    return pd.concat([head, tail], ignore_index=True)


def combine_funnels(funnels: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Sum per-chunk funnels step by step, keeping the step order."""
    funnels = [f for f in funnels if len(f)]
    if not funnels:
        return pd.DataFrame(columns=FUNNEL_COLUMNS)
    order = list(dict.fromkeys(s for f in funnels for s in f["step"]))
    total = pd.concat(funnels).groupby("step", sort=False)[["n_in", "n_rejected", "n_out"]].sum()
    return total.reindex(order).reset_index()


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def combine_results(results: Iterable[BatchResult]) -> BatchResult:
    """Concatenate chunk results (e.g. from a process pool) into one."""
    results = list(results)
    return BatchResult(kept=_concat([r.kept for r in results]),
                       rejected=_concat([r.rejected for r in results]),
                       failures=_concat([r.failures for r in results]),
                       funnel=combine_funnels(r.funnel for r in results))


def process_stream(chunks: Iterable[pd.DataFrame], filter_settings: FilterSettings | None = None,
                   standardize_settings: StandardizeSettings | None = None, *,
                   registered_inchikeys: Iterable[str] | None = None,
                   known_smiles: Sequence[str] | Mapping[str, str] | None = None
                   ) -> Iterator[BatchResult]:
    """Run :func:`process_batch` over chunks in order, deduplicating across chunks.

    For several processes (same results, streamed to files) use
    :func:`chem.pipeline.run_filter` / :func:`chem.pipeline.filter_file`.
    """
    state = StandardizeState(registered_inchikeys)
    for chunk in chunks:
        yield process_batch(chunk, filter_settings, standardize_settings,
                            known_smiles=known_smiles, state=state)
