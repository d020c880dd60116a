"""Deduplication across chunks that are standardized in parallel (first occurrence wins).

Ids need no chemistry, so repeated ids are split off in the parent as the input is
read (:meth:`StreamDedup.split_ids`), before any chunk reaches a worker. Structures
need the InChIKey, so workers deduplicate within their chunk and the parent, taking
results back in input order, moves rows whose InChIKey an earlier chunk already had
into the failures (:meth:`StreamDedup.apply`). Together this reproduces the serial
:func:`chem.batch.process_stream`: same kept rows, same failure codes and lines.
"""

from __future__ import annotations

import pandas as pd

from chem.batch import BatchResult, chunk_funnel
from chem.standardize import STAGE
from moltwin.records import FAILURE_COLUMNS, FailureRecord


def _norm_id(value) -> str | None:
    """The id as standardization reads it (stripped text; blank or NaN is no id)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value).strip() or None


class StreamDedup:
    """Ids and InChIKeys seen so far in one input stream.

    Parameters
    ----------
    structures
        Deduplicate InChIKeys too (ids are always deduplicated).
    """

    def __init__(self, structures: bool = True) -> None:
        self.structures = structures
        self.seen_ids: set[str] = set()
        self.first_of_key: dict[str, str] = {}

    def split_ids(self, chunk: pd.DataFrame) -> tuple[pd.DataFrame, list[FailureRecord]]:
        """Drop rows whose id appeared earlier in the stream; call in input order.

        Rows without an id stay (standardization reports them as ``missing_id``).
        """
        lines = chunk["input_line"] if "input_line" in chunk.columns else [None] * len(chunk)
        keep, failures = [], []
        for raw, line in zip(chunk["compound_id"], lines):
            cid = _norm_id(raw)
            if cid is not None and cid in self.seen_ids:
                failures.append(FailureRecord(
                    STAGE, "duplicate_id", f"compound id {cid} appears earlier in the input", cid,
                    None if line is None or pd.isna(line) else int(line)))
                keep.append(False)
                continue
            if cid is not None:
                self.seen_ids.add(cid)
            keep.append(True)
        if failures:
            chunk = chunk[keep].reset_index(drop=True)
        return chunk, failures

    def apply(self, result: BatchResult, n_in: int, id_failures: list[FailureRecord] = ()
              ) -> BatchResult:
        """Merge the id failures and move repeats of earlier chunks' structures to failures.

        Parameters
        ----------
        result
            A worker's result for the chunk returned by :meth:`split_ids`.
        n_in
            Rows of the chunk as read (before :meth:`split_ids`).
        id_failures
            The failures :meth:`split_ids` returned for it.
        """
        moved = list(id_failures)
        first_of_moved: dict[str, str] = {}
        kept = self._screen(result.kept, moved, first_of_moved)
        rejected = self._screen(result.rejected, moved, first_of_moved)
        if self.structures:
            for frame in (kept, rejected):
                self.first_of_key.update(zip(frame["inchikey"], frame["compound_id"]))
        if not moved:
            return result
        failures = result.failures
        if first_of_moved and len(failures):
            failures = self._repoint(failures, first_of_moved)
        extra = pd.DataFrame([m.to_dict() for m in moved], columns=FAILURE_COLUMNS)
        failures = pd.concat([f for f in (failures, extra) if len(f)] or [extra], ignore_index=True)
        failures["input_line"] = failures["input_line"].astype("Int64")
        failures = failures.sort_values("input_line", kind="stable", na_position="last")
        steps = list(result.funnel["step"].iloc[2:])
        funnel = chunk_funnel(n_in, failures["reason_code"], rejected["rejected_by"], steps)
        return BatchResult(kept, rejected, failures.reset_index(drop=True), funnel)

    def _screen(self, frame: pd.DataFrame, moved: list[FailureRecord],
                first_of_moved: dict[str, str]) -> pd.DataFrame:
        if not self.structures or not self.first_of_key or frame.empty:
            return frame
        keep = []
        for cid, key, line in zip(frame["compound_id"], frame["inchikey"], frame["input_line"]):
            first = self.first_of_key.get(key)
            keep.append(first is None)
            if first is not None:
                first_of_moved[cid] = first
                moved.append(FailureRecord(
                    STAGE, "duplicate_structure", f"same structure as {first} (InChIKey {key})",
                    cid, None if pd.isna(line) else int(line), f"duplicate_of={first}"))
        return frame if all(keep) else frame[keep].reset_index(drop=True)

    @staticmethod
    def _repoint(failures: pd.DataFrame, first_of_moved: dict[str, str]) -> pd.DataFrame:
        """A within-chunk duplicate of a row that is itself a repeat names the first one."""
        failures = failures.copy()
        for i, (code, detail) in enumerate(zip(failures["reason_code"], failures["detail"])):
            if code != "duplicate_structure" or not str(detail).startswith("duplicate_of="):
                continue
            first = first_of_moved.get(str(detail).removeprefix("duplicate_of="))
            if first is not None:
                key = str(failures["message"].iloc[i]).rsplit("(InChIKey ", 1)[-1].rstrip(")")
                failures.iloc[i, failures.columns.get_loc("detail")] = f"duplicate_of={first}"
                failures.iloc[i, failures.columns.get_loc("message")] = \
                    f"same structure as {first} (InChIKey {key})"
        return failures
