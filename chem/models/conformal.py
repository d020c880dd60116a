"""Normalized split/cross conformal prediction intervals.

Nonconformity score of a held-out measurement: ``|y - y_hat| / sigma`` with
``sigma = spread + floor``, where ``spread`` is the model's own per-molecule
uncertainty (:mod:`chem.models.estimators`) and ``floor`` a small constant that
stops intervals collapsing where all ensemble members happen to agree. The
scores come from out-of-fold predictions of the cross-validation that also
chooses the model kind (cross-conformal). For level ``a`` the multiplier
``q_a`` is the ceil((n+1)a)-th smallest score, the finite-sample conformal
quantile, and the interval is ``y_hat +/- q_a * sigma``: molecules the model is
unsure about get wider intervals while the share of covered measurements
stays near ``a`` on data like the training data.
"""

from __future__ import annotations

import math

import numpy as np

# Fraction of the training activity standard deviation added to every spread.
SPREAD_FLOOR_FRACTION = 0.05

# Coverage of +/- one standard deviation of a normal distribution; ``pred_std`` is
# reported as the half-width of this calibrated interval.
ONE_SIGMA_LEVEL = 0.6827


def spread_floor(y: np.ndarray) -> float:
    """Constant added to every raw spread: a small share of the activity spread (>= 0.01 log units)."""
    return max(SPREAD_FLOOR_FRACTION * float(np.std(y)), 0.01)


def nonconformity_scores(y: np.ndarray, prediction: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Normalized nonconformity ``|y - prediction| / sigma`` of calibration measurements."""
    return np.abs(np.asarray(y, float) - prediction) / sigma


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Finite-sample conformal quantile of the scores for a coverage level.

    With n scores this is the ceil((n+1) level)-th smallest; when that rank
    exceeds n (tiny calibration sets) the largest score is used, which makes
    the interval slightly optimistic and is noted in the model metadata.
    """
    scores = np.sort(np.asarray(scores, float))
    if scores.size == 0:
        raise ValueError("no calibration scores")
    rank = math.ceil((scores.size + 1) * level)
    return float(scores[min(rank, scores.size) - 1])


def calibrated_std(sigma: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Calibrated one-standard-deviation uncertainty: sigma times the 68.27 % score quantile."""
    return sigma * conformal_quantile(scores, ONE_SIGMA_LEVEL)


def interval_bounds(prediction: np.ndarray, sigma: np.ndarray, scores: np.ndarray,
                    level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the ``level`` conformal interval around each prediction."""
    half_width = conformal_quantile(scores, level) * sigma
    return prediction - half_width, prediction + half_width
