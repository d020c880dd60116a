"""Normalized (and, where the data allow, Mondrian) conformal intervals, via crepes.

Calibration data are the *nested* out-of-fold residuals of
:mod:`chem.models.train`: for every exact measurement, ``y - y_hat`` where
``y_hat`` came from a model whose kind was chosen, and which was fitted,
without that compound. Intervals are therefore valid for the whole
"choose a kind, then fit" procedure, not just for one fixed model.

Each residual is normalized by ``sigma = spread + floor``: ``spread`` is the
model's own per-molecule uncertainty (:mod:`chem.models.estimators`) and
``floor`` a small constant that stops intervals collapsing where all ensemble
members agree. For a new molecule the interval is ``y_hat +/- q_a * sigma``
with ``q_a`` the finite-sample conformal quantile of the normalized scores
(``crepes.ConformalRegressor``).

Mondrian: calibration compounds are binned by applicability domain (their
out-of-fold max Tanimoto similarity to the training set, cut at terciles), and
each bin gets its own quantile, so far-from-data compounds get the wider
intervals their larger errors call for. This only happens when every bin keeps
at least ``mondrian_min_bin`` distinct calibration compounds; otherwise one
normalized calibration is used for all.

With repeated cross-validation the residuals of all repeats are pooled; each
compound then contributes one residual per repeat.
"""

from __future__ import annotations

import warnings

import numpy as np
from crepes import ConformalRegressor

# Fraction of the training activity standard deviation added to every spread.
SPREAD_FLOOR_FRACTION = 0.05

# Coverage of +/- one standard deviation of a normal distribution; ``pred_std`` is
# reported as the half-width of this calibrated interval.
ONE_SIGMA_LEVEL = 0.6827


def spread_floor(y: np.ndarray) -> float:
    """Constant added to every raw spread: a small share of the activity spread (>= 0.01 log units)."""
    return max(SPREAD_FLOOR_FRACTION * float(np.std(y)), 0.01)


def domain_bin_edges(similarity: np.ndarray, n_compounds: int, min_per_bin: int) -> list[float]:
    """Inner tercile edges of calibration similarities, or ``[]`` (one bin) when a bin would be too small.

    Parameters
    ----------
    similarity
        Out-of-fold max Tanimoto similarity of each calibration compound to its training fold.
    n_compounds
        Distinct calibration compounds (repeats of one compound count once).
    min_per_bin
        Fewest distinct compounds every bin must keep.
    """
    if n_compounds < 3 * min_per_bin:
        return []
    edges = np.quantile(similarity, [1 / 3, 2 / 3])
    return [] if edges[0] >= edges[1] else [float(e) for e in edges]


def domain_bins(similarity: np.ndarray, edges: list[float]) -> np.ndarray:
    """Bin index per molecule: 0 = least similar tercile ... (all 0 without edges)."""
    return np.digitize(np.asarray(similarity, float), edges) if edges else np.zeros(len(similarity), int)


class NormalizedConformal:
    """Normalized, optionally Mondrian, conformal calibration (a thin layer over crepes).

    Parameters
    ----------
    residuals
        ``y - y_hat`` of the calibration measurements (out-of-fold).
    sigmas
        Their ``spread + floor``.
    bins
        Mondrian bin per calibration measurement (all zeros: one calibration).
    """

    def __init__(self, residuals: np.ndarray, sigmas: np.ndarray, bins: np.ndarray) -> None:
        self.residuals = np.asarray(residuals, float)
        self.sigmas = np.asarray(sigmas, float)
        self.bins = np.asarray(bins, int)
        self._mondrian = len(np.unique(self.bins)) > 1
        self._crepes = ConformalRegressor().fit(self.residuals, sigmas=self.sigmas,
                                                bins=self.bins if self._mondrian else None)

    def bounds(self, prediction: np.ndarray, sigma: np.ndarray, bins: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the ``level`` interval around each prediction.

        With too few calibration points for a level crepes returns infinite bounds;
        they are replaced by the largest calibration score (slightly optimistic,
        flagged as ``calibration_rank_capped`` in the model metadata).
        """
        prediction = np.asarray(prediction, float)
        sigma = np.asarray(sigma, float)
        if len(prediction) == 0:
            return np.zeros(0), np.zeros(0)
        kwargs = {"bins": np.asarray(bins, int)} if self._mondrian else {}
        with warnings.catch_warnings():  # "too few calibration examples": handled just below
            warnings.simplefilter("ignore", UserWarning)
            interval = self._crepes.predict_int(prediction, sigmas=sigma, confidence=level, **kwargs)
        lower, upper = interval[:, 0].astype(float), interval[:, 1].astype(float)
        capped = ~np.isfinite(lower) | ~np.isfinite(upper)
        if capped.any():
            half = self.max_score() * sigma
            lower = np.where(capped, prediction - half, lower)
            upper = np.where(capped, prediction + half, upper)
        return lower, upper

    def max_score(self) -> float:
        """Largest normalized calibration score."""
        return float(np.max(np.abs(self.residuals) / self.sigmas))

    def multipliers(self, level: float) -> dict[str, float]:
        """Interval half-width in units of sigma, per bin (``"all"`` without Mondrian bins)."""
        out = {}
        for b in (np.unique(self.bins) if self._mondrian else [0]):
            lower, upper = self.bounds(np.zeros(1), np.ones(1), np.array([b]), level)
            out[str(int(b)) if self._mondrian else "all"] = float((upper[0] - lower[0]) / 2)
        return out

    def is_mondrian(self) -> bool:
        """Whether per-bin (Mondrian) quantiles are in use."""
        return self._mondrian
