"""Columns derived from the merged candidate table before scoring.

``activity_*`` picks the best available potency evidence (a measurement beats a
prediction), ``n_alerts`` turns the filter's alert string into a count, and
``admet_max_risk`` summarizes the optional ``admet_*`` risk columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from moltwin.errors import BadInputError

ADMET_PREFIX = "admet_"
ADMET_SUMMARY = "admet_max_risk"

# Qualifiers as lab_sync may write them, mapped onto the three the gates understand.
# They refer to ``measured_p_activity`` itself (an IC50 "> 10 µM" is a pActivity "< 5").
_QUALIFIERS = {"=": "=", "~": "=", "<": "<", "<=": "<", ">": ">", ">=": ">"}
_ALERT_SEPARATORS = re.compile(r"[;|,]")


def _column(table: pd.DataFrame, name: str, fill: object = np.nan) -> pd.Series:
    if name in table.columns:
        return table[name]
    return pd.Series(fill, index=table.index, dtype=object if isinstance(fill, str) else float)


def normalize_qualifier(value: object) -> str:
    """Map a qualifier cell onto ``"="``, ``"<"`` or ``">"`` (missing means ``"="``).

    Raises
    ------
    BadInputError
        For a qualifier outside ``= ~ < <= > >=``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "="
    text = str(value).strip()
    if text == "":
        return "="
    if text not in _QUALIFIERS:
        raise BadInputError(f"unknown measurement qualifier {text!r}; expected one of "
                            f"{', '.join(_QUALIFIERS)}", field="measured_qualifier")
    return _QUALIFIERS[text]


def resolve_activity(table: pd.DataFrame, default_measured_sd: float = 0.3) -> pd.DataFrame:
    """Add ``activity_p``, ``activity_sd``, ``activity_source``, ``activity_qualifier``.

    Parameters
    ----------
    table
        Candidate table with any of ``measured_p_activity``, ``measured_sd``,
        ``measured_qualifier``, ``pred_p_activity``, ``pred_std``.
    default_measured_sd
        SD used for a measurement without one (single replicate), pActivity units.

    Returns
    -------
    pandas.DataFrame
        A copy with the four columns; the source columns are kept. ``activity_source``
        is ``"measured"``, ``"predicted"`` or missing when neither exists.
    """
    out = table.copy()
    measured = pd.to_numeric(_column(out, "measured_p_activity"), errors="coerce")
    meas_sd = pd.to_numeric(_column(out, "measured_sd"), errors="coerce")
    pred = pd.to_numeric(_column(out, "pred_p_activity"), errors="coerce")
    pred_sd = pd.to_numeric(_column(out, "pred_std"), errors="coerce")
    has_meas = measured.notna()
    has_pred = pred.notna() & ~has_meas

    out["activity_p"] = measured.where(has_meas, pred)
    meas_sd = meas_sd.where(meas_sd > 0, default_measured_sd)
    out["activity_sd"] = meas_sd.where(has_meas, pred_sd.where(has_pred))
    source = pd.Series(None, index=out.index, dtype=object)
    source[has_meas] = "measured"
    source[has_pred] = "predicted"
    out["activity_source"] = source
    qualifiers = _column(out, "measured_qualifier", fill="=").map(normalize_qualifier)
    out["activity_qualifier"] = qualifiers.where(has_meas, "=")
    return out


def count_alerts(alerts: pd.Series) -> pd.Series:
    """Number of structural alerts per compound (missing stays missing = unknown).

    Alert strings are separated by ``;``, ``|`` or ``,``; an empty string means none.
    """
    def _count(value: object) -> float:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return np.nan
        return float(sum(1 for part in _ALERT_SEPARATORS.split(str(value)) if part.strip()))

    return alerts.map(_count).astype(float)


def admet_columns(table: pd.DataFrame) -> list[str]:
    """The numeric ``admet_*`` risk columns present (the summary column excluded)."""
    return [c for c in table.columns
            if c.startswith(ADMET_PREFIX) and c != ADMET_SUMMARY
            and pd.api.types.is_numeric_dtype(table[c])]


def add_derived_columns(table: pd.DataFrame, default_measured_sd: float = 0.3,
                        admet_gate_endpoints: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Return a copy with the activity, ``n_alerts`` and ``admet_max_risk`` columns.

    Existing ``activity_*`` columns (e.g. from :func:`ranking.merge.merge_candidate_table`)
    are kept as they are. ``admet_max_risk`` is missing for every compound when no
    ADMET predictions exist, so ADMET gates read as unknown rather than as safe.
    ``admet_gate_endpoints`` limits the summary to those endpoints' ``admet_<key>`` columns
    (``None``: every risk column); the other risks stay in the table for the reader.
    """
    out = table if "activity_p" in table.columns else resolve_activity(table, default_measured_sd)
    out = out.copy()
    for name, fill in (("activity_sd", np.nan), ("activity_source", None),
                       ("activity_qualifier", "=")):
        if name not in out.columns:
            out[name] = fill
    out["n_alerts"] = count_alerts(_column(out, "alerts"))
    risk_columns = admet_columns(out)
    if admet_gate_endpoints is not None:
        risk_columns = [c for c in risk_columns if c.removeprefix(ADMET_PREFIX) in admet_gate_endpoints]
    if risk_columns:
        out[ADMET_SUMMARY] = out[risk_columns].max(axis=1, skipna=True)
    else:
        out[ADMET_SUMMARY] = np.nan
    return out
