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

Far from the data: a query's sigma may exceed every calibration sigma (a GP's
spread grows towards its prior SD as similarity falls). Its interval is then
scaled by that larger sigma, i.e. widened, but never beyond the interval of the
mean baseline at the same level: the conformal half-width of the out-of-fold
residuals of predicting the training mean (``baseline_residuals``). A model
that knows nothing about a compound knows what the series' spread says, no less;
the cap is that statement (for the GP, whose prediction far from the data is the
training mean, the capped interval *is* the mean baseline's). With 16 Tyk2
ligands the cap is about 1.0 x SD(y) at 68 %, where an uncapped kNN or GP sigma
reached 1.5-2 x SD(y) on another target's compounds.
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
    baseline_residuals
        Out-of-fold residuals of the mean baseline; when given, no interval is wider
        than the mean baseline's at the same level (see the module docstring).
    """

    def __init__(self, residuals: np.ndarray, sigmas: np.ndarray, bins: np.ndarray,
                 baseline_residuals: np.ndarray | None = None) -> None:
        self.residuals = np.asarray(residuals, float)
        self.sigmas = np.asarray(sigmas, float)
        self.bins = np.asarray(bins, int)
        self._mondrian = len(np.unique(self.bins)) > 1
        self._crepes = ConformalRegressor().fit(self.residuals, sigmas=self.sigmas,
                                                bins=self.bins if self._mondrian else None)
        self.baseline_residuals = None if baseline_residuals is None else np.asarray(baseline_residuals, float)
        self._baseline = (None if self.baseline_residuals is None
                          else ConformalRegressor().fit(self.baseline_residuals))

    def cap_half_width(self, level: float) -> float:
        """Half-width of the mean baseline's ``level`` interval (``inf`` without baseline residuals)."""
        if self._baseline is None:
            return float("inf")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            interval = self._baseline.predict_int(np.zeros(1), confidence=level)
        half = float(interval[0, 1])
        return half if np.isfinite(half) else float(np.max(np.abs(self.baseline_residuals)))

    def bounds(self, prediction: np.ndarray, sigma: np.ndarray, bins: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the ``level`` interval around each prediction.

        Normalized conformal bounds, no wider than the mean baseline's (:meth:`cap_half_width`).
        """
        prediction = np.asarray(prediction, float)
        lower, upper = self._normalized_bounds(prediction, sigma, bins, level)
        if len(lower) == 0:
            return lower, upper
        cap = self.cap_half_width(level)
        return np.maximum(lower, prediction - cap), np.minimum(upper, prediction + cap)

    def _normalized_bounds(self, prediction: np.ndarray, sigma: np.ndarray, bins: np.ndarray,
                           level: float) -> tuple[np.ndarray, np.ndarray]:
        """Normalized conformal bounds before the mean-baseline cap.

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
            lower, upper = self._normalized_bounds(np.zeros(1), np.ones(1), np.array([b]), level)
            out[str(int(b)) if self._mondrian else "all"] = float((upper[0] - lower[0]) / 2)
        return out

    def is_mondrian(self) -> bool:
        """Whether per-bin (Mondrian) quantiles are in use."""
        return self._mondrian
