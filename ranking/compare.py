"""What changed since the last run: new entries in the top N, decision changes, rank moves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from moltwin.errors import BadInputError

CHANGE_COLUMNS = ["compound_id", "change", "previous_rank", "current_rank", "rank_change",
                  "previous_decision", "current_decision", "detail"]
# Order in which changes are listed: what a lead must act on first.
_ORDER = {"decision": 0, "new_in_top": 1, "left_top": 2, "moved": 3}


def _indexed(table: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in ("compound_id", "rank") if c not in table.columns]
    if missing:
        raise BadInputError(f"the {name} ranked table lacks column(s) {', '.join(missing)}",
                            field=missing[0])
    out = table.copy()
    out["compound_id"] = out["compound_id"].astype(str)
    if "decision" not in out.columns:
        out["decision"] = None
    out["evidence"] = _evidence(out)
    return out.drop_duplicates("compound_id").set_index("compound_id")[["rank", "decision",
                                                                        "evidence"]]


def _evidence(table: pd.DataFrame) -> pd.Series:
    """Each compound's potency evidence line: a column of a ranked table, or the store's JSON."""
    if "activity_evidence" in table.columns:
        return table["activity_evidence"].where(table["activity_evidence"].notna(), None)
    if "details_json" not in table.columns:
        return pd.Series(None, index=table.index, dtype=object)

    def _read(text: object) -> object:
        try:
            return json.loads(text).get("activity_evidence") if isinstance(text, str) else None
        except (ValueError, AttributeError):
            return None

    return table["details_json"].map(_read)


def _evidence_note(before: object, after: object) -> str:
    if not isinstance(before, str) or not isinstance(after, str):
        return ""
    if before == after:
        return "; its own evidence is unchanged (the series changed: model, calibration or priors)"
    return f"; evidence was {before}, now {after}"


def _rank(value: float) -> object:
    return int(value) if pd.notna(value) else None


def compare_rankings(previous: pd.DataFrame | None, current: pd.DataFrame, top_n: int = 20,
                     min_move: int = 3) -> pd.DataFrame:
    """Changes between two ranked tables, one row per change.

    Parameters
    ----------
    previous
        The previous run's ranked table (``compound_id``, ``rank``, ``decision``), or
        ``None`` for a first run.
    current
        This run's ranked table.
    top_n
        Size of the "top" list whose new entries and departures are reported.
    min_move
        Smallest rank move, within either top ``top_n``, reported as ``moved``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHANGE_COLUMNS`. ``change`` is ``"decision"`` (the decision
        differs), ``"new_in_top"`` (in the current top N, not in the previous one;
        ``previous_rank`` is empty for a compound new to the twin), ``"left_top"``
        or ``"moved"``; ``rank_change`` is positive when the compound moved up.
        Decision changes come first, then new entries, departures, and moves by size.
        Empty when ``previous`` is ``None``.

    Raises
    ------
    BadInputError
        If a table lacks ``compound_id`` or ``rank``.
    """
    if previous is None:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    prev, cur = _indexed(previous, "previous"), _indexed(current, "current")
    both = prev.join(cur, how="outer", lsuffix="_prev", rsuffix="_cur")
    rows = []
    for compound_id, r in both.iterrows():
        p_rank, c_rank = _rank(r["rank_prev"]), _rank(r["rank_cur"])
        p_dec, c_dec = r["decision_prev"], r["decision_cur"]
        move = p_rank - c_rank if p_rank is not None and c_rank is not None else None
        base = {"compound_id": compound_id, "previous_rank": p_rank, "current_rank": c_rank,
                "rank_change": move, "previous_decision": p_dec if isinstance(p_dec, str) else None,
                "current_decision": c_dec if isinstance(c_dec, str) else None}
        in_prev_top = p_rank is not None and p_rank <= top_n
        in_cur_top = c_rank is not None and c_rank <= top_n
        if isinstance(p_dec, str) and isinstance(c_dec, str) and p_dec != c_dec:
            rows.append({**base, "change": "decision",
                         "detail": f"{p_dec} → {c_dec} (rank {p_rank} → {c_rank})"
                                   f"{_evidence_note(r['evidence_prev'], r['evidence_cur'])}"})
        if in_cur_top and not in_prev_top:
            where = "new compound" if p_rank is None else f"was rank {p_rank}"
            rows.append({**base, "change": "new_in_top", "detail": f"new in top {top_n} at rank "
                                                                   f"{c_rank} ({where})"})
        elif in_prev_top and not in_cur_top:
            where = "no longer ranked" if c_rank is None else f"now rank {c_rank}"
            rows.append({**base, "change": "left_top", "detail": f"left top {top_n} "
                                                                 f"(was {p_rank}, {where})"})
        elif in_cur_top and move is not None and abs(move) >= min_move:
            rows.append({**base, "change": "moved", "detail": f"{'up' if move > 0 else 'down'} "
                                                              f"{abs(move)}: {p_rank} → {c_rank}"})
    if not rows:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    out = pd.DataFrame(rows)
    out["_order"] = out["change"].map(_ORDER)
    rank = pd.to_numeric(out["current_rank"], errors="coerce").fillna(np.inf)
    prev_rank = pd.to_numeric(out["previous_rank"], errors="coerce").fillna(np.inf)
    size = pd.to_numeric(out["rank_change"], errors="coerce").abs()
    out["_key"] = np.where(out["change"] == "moved", -size,
                           np.where(out["change"] == "left_top", prev_rank, rank))
    out = out.sort_values(["_order", "_key", "compound_id"], kind="mergesort")
    return out[CHANGE_COLUMNS].reset_index(drop=True)
