"""Desirability functions (Derringer-style, 0..1) and their weighted geometric mean.

A geometric mean means one unacceptable property (desirability 0) cannot be bought
back by excellent others; that is why soft properties are floored above 0 and only
``hard`` ones may reach it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ranking.settings import DesirabilitySpec


def desirability(values: np.ndarray | pd.Series | float, spec: DesirabilitySpec,
                 soft_floor: float = 0.0) -> np.ndarray:
    """Map property values onto 0..1 following ``spec``; NaN stays NaN (unknown).

    Parameters
    ----------
    values
        Property values (any shape).
    spec
        Kind (``higher``/``lower``/``range``), bounds, tolerance and hardness.
    soft_floor
        Lowest value returned for a soft (non-``hard``) property.

    Returns
    -------
    numpy.ndarray
        Desirabilities as float, same shape as ``values``.
    """
    x = np.asarray(values, dtype=float)
    low, high = spec.low, spec.high
    with np.errstate(invalid="ignore"):
        if spec.kind == "higher":
            d = _rising(x, low, high)
        elif spec.kind == "lower":
            d = _falling(x, low, high)
        else:
            d = np.minimum(_rising(x, low - spec.tolerance, low),
                           _falling(x, high, high + spec.tolerance))
    if not spec.hard:
        d = np.maximum(d, soft_floor)
    return np.where(np.isnan(x), np.nan, d)


# With coinciding bounds the ramp is a threshold, and the bound itself counts as good,
# as a gate "≥ 7" counts 7 as passing.
def _rising(x: np.ndarray, zero_at: float, one_at: float) -> np.ndarray:
    if one_at <= zero_at:
        return np.where(x >= one_at, 1.0, 0.0)
    return np.clip((x - zero_at) / (one_at - zero_at), 0.0, 1.0)


def _falling(x: np.ndarray, one_at: float, zero_at: float) -> np.ndarray:
    if zero_at <= one_at:
        return np.where(x <= one_at, 1.0, 0.0)
    return np.clip((zero_at - x) / (zero_at - one_at), 0.0, 1.0)


def weighted_geometric_mean(values: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Row-wise weighted geometric mean over the non-NaN entries.

    Parameters
    ----------
    values
        Array of shape (n_rows, n_properties) with entries in [0, 1] or NaN.
    weights
        One positive weight per property; missing entries drop out and the
        remaining weights are renormalized.

    Returns
    -------
    numpy.ndarray
        Shape (n_rows,); 0 if any present entry is 0, NaN if a row has no entry.
    """
    d = np.atleast_2d(np.asarray(values, dtype=float))
    w = np.broadcast_to(np.asarray(weights, dtype=float), d.shape)
    present = ~np.isnan(d)
    w_sum = np.where(present, w, 0.0).sum(axis=1)
    has_zero = (present & (d <= 0.0)).any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_d = np.where(present & (d > 0.0), np.log(np.where(d > 0.0, d, 1.0)), 0.0)
        mean = np.exp((w * log_d).sum(axis=1) / w_sum)
    mean = np.where(has_zero, 0.0, mean)
    return np.where(w_sum > 0, mean, np.nan)


def desirability_table(table: pd.DataFrame, specs: Sequence[DesirabilitySpec],
                       soft_floor: float) -> pd.DataFrame:
    """One ``d_<column>`` column per spec (NaN where the property is missing).

    Where a spec with ``replaces`` has a value, the replaced property's desirability is
    set to NaN, so the same evidence is not counted twice (raw and calibrated).
    """
    columns = {}
    for spec in specs:
        raw = table[spec.column] if spec.column in table.columns else np.nan
        values = pd.to_numeric(pd.Series(raw, index=table.index), errors="coerce")
        columns[f"d_{spec.column}"] = desirability(values.to_numpy(), spec, soft_floor)
    for spec in specs:
        replaced = f"d_{spec.replaces}"
        if spec.replaces is not None and replaced in columns:
            present = ~np.isnan(columns[f"d_{spec.column}"])
            columns[replaced] = np.where(present, np.nan, columns[replaced])
    return pd.DataFrame(columns, index=table.index)


def score_groups(table: pd.DataFrame, specs: Sequence[DesirabilitySpec],
                 soft_floor: float) -> pd.DataFrame:
    """Overall ``score`` plus per-group means and the hard properties that vetoed.

    Returns
    -------
    pandas.DataFrame
        ``d_<column>`` per property, ``score`` (all properties), ``potency_desirability``,
        ``developability``, ``physics_evidence`` (per group, NaN when no data) and
        ``score_veto`` (labels of hard properties at 0, ``""`` when none).
    """
    d = desirability_table(table, specs, soft_floor)
    out = d.copy()
    weights = [s.weight for s in specs]
    out["score"] = weighted_geometric_mean(d.to_numpy(), weights)
    for group, name in (("potency", "potency_desirability"), ("developability", "developability"),
                        ("physics", "physics_evidence")):
        members = [s for s in specs if s.group == group]
        if members:
            sub = d[[f"d_{s.column}" for s in members]].to_numpy()
            out[name] = weighted_geometric_mean(sub, [s.weight for s in members])
        else:
            out[name] = np.nan
    hard = [s for s in specs if s.hard]
    out["score_veto"] = [
        "; ".join(s.label for s in hard if d.at[idx, f"d_{s.column}"] == 0.0) for idx in d.index
    ]
    return out
