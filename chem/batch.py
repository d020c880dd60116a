"""Standardize -> filter on one chunk of molecules, and over a stream of chunks.

:func:`process_batch` parses each SMILES once and hands the standardized
molecule straight to the filters, so each property is computed once. It takes
and returns only DataFrames, so callers can map it over chunks in worker
processes (catalogs and fingerprints are cached per process). Memory stays flat
in library size: :func:`process_stream` holds one chunk plus the set of
InChIKeys seen so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from chem.filters import FUNNEL_COLUMNS, apply_filters
from chem.settings import FilterSettings, StandardizeSettings
from chem.standardize import StandardizeState, failures_frame, rows_frame, standardize_records

DEDUP_CODES = {"duplicate_id", "duplicate_structure", "already_registered"}


@dataclass
class BatchResult:
    """Outcome of one chunk.

    Attributes
    ----------
    kept
        Standardized columns (``compound_id, smiles, inchikey, input_smiles,
        input_line``, extras) + property columns.
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
                  state: StandardizeState | None = None) -> BatchResult:
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

    Returns
    -------
    BatchResult
    """
    state = state or StandardizeState(registered_inchikeys)
    rows, mols, failures = standardize_records(chunk, standardize_settings, state)
    ok = rows_frame(rows, list(chunk.columns))
    filtered = apply_filters(ok, filter_settings, known_smiles, mols=mols)
    n_dedup = sum(f.reason_code in DEDUP_CODES for f in failures)
    n_std = len(failures) - n_dedup
    n_in = len(chunk)
    head = pd.DataFrame([
        {"step": "standardize", "n_in": n_in, "n_rejected": n_std, "n_out": n_in - n_std},
        {"step": "deduplicate", "n_in": n_in - n_std, "n_rejected": n_dedup,
         "n_out": n_in - n_std - n_dedup}], columns=FUNNEL_COLUMNS)
    funnel = pd.concat([head, filtered.funnel], ignore_index=True)
    return BatchResult(filtered.kept, filtered.rejected, failures_frame(failures), funnel)


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

    Parallel callers mapping :func:`process_batch` over processes lose cross-chunk
    deduplication; drop repeated ``inchikey`` values of the merged ``kept`` table.
    """
    state = StandardizeState(registered_inchikeys)
    for chunk in chunks:
        yield process_batch(chunk, filter_settings, standardize_settings,
                            known_smiles=known_smiles, state=state)
