"""Censored (qualified) activities: how ``<`` and ``>`` measurements enter training.

Activities are on the p-scale, so ``p_activity > 6`` means "more potent than
1 µM" and an assay readout ``IC50 > 10 µM`` arrives here as ``p_activity < 5``.
A censored row says the true value lies on one side of a bound; dropping such
rows would bias a series model towards the measurable compounds, and treating
the bound as exact would pull predictions towards the assay limits.

Scheme (one expectation step of the censored-normal / Tobit EM, usable with any
regressor):

1. Fit on the exact rows (``=``, ``~``) only, so the predictions for the
   censored rows are honest (the model never saw them). If there are fewer than
   5 exact rows, fit on every row with the bound as a provisional target.
2. Treat the true value of a censored row as normal around that prediction mu
   with standard deviation ``censored_noise_p`` and replace the bound by the
   mean of that normal *truncated at the bound*: ``E[Y | Y < b]`` for upper
   bounds (``<``, ``<=``) and ``E[Y | Y > b]`` for lower bounds (``>``, ``>=``).
   The imputed target always lies on the right side of the bound; it stays
   close to the prediction when the model already agrees with the inequality,
   and sits a little beyond the bound when it does not.
3. Refit on all rows with the imputed targets.

A plain clip (``min(b, mu)`` for ``<``) was rejected: when every weak compound
of a series is censored, an exact-only tree model cannot predict below the
bound, the clip returns the bound itself and the censored rows act as exact
values at the assay limit. Further EM rounds are not run because with
tree models the in-sample prediction equals the last imputed target, and each
round would push the targets further past the bound.

Errors on censored rows (:func:`censored_residuals`, used for model choice) are
zero when the prediction is on the right side of the bound, otherwise the
distance to the bound. Conformal calibration uses exact rows only, since a
censored row gives no exact residual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator

from chem.models.estimators import build_estimator, predict_with_spread
from chem.models.settings import ModelSettings
from moltwin.errors import ModelError

# Direction of each qualifier: 0 exact, -1 true value <= bound, +1 true value >= bound.
QUALIFIER_DIRECTION = {"=": 0, "~": 0, "<": -1, "<=": -1, ">": 1, ">=": 1}

# Fewest exact rows for the first fit to use exact rows alone.
_MIN_EXACT_FOR_FIRST_FIT = 5


def qualifier_directions(qualifiers: pd.Series) -> np.ndarray:
    """Map qualifier strings to -1 (upper bound), 0 (exact) or +1 (lower bound).

    Missing qualifiers count as exact (``=``). Unknown ones raise
    :class:`moltwin.errors.ModelError` listing them.
    """
    text = qualifiers.astype(object).where(qualifiers.notna(), "=").map(lambda q: str(q).strip() or "=")
    unknown = sorted(set(text) - set(QUALIFIER_DIRECTION))
    if unknown:
        raise ModelError(f"unknown activity qualifier(s) {unknown}; expected one of "
                         f"{sorted(QUALIFIER_DIRECTION)}")
    return text.map(QUALIFIER_DIRECTION).to_numpy(dtype=int)


def impute_censored_targets(y: np.ndarray, direction: np.ndarray, prediction: np.ndarray,
                            noise_sd: float) -> np.ndarray:
    """Replace censored bounds by the mean of a normal(prediction, noise_sd) truncated at the bound.

    Parameters
    ----------
    y
        p-activities; the bound on censored rows.
    direction
        -1 upper bound, 0 exact, +1 lower bound (:func:`qualifier_directions`).
    prediction
        Model predictions for every row (only censored rows are used).
    noise_sd
        Standard deviation of the true value around the prediction, log units.

    Returns
    -------
    numpy.ndarray
        Exact rows unchanged; censored rows strictly on the allowed side of their bound.
    """
    target = np.asarray(y, dtype=float).copy()
    z = (target - prediction) / noise_sd
    upper = direction < 0
    lower = direction > 0
    # Inverse Mills ratios in log space: stable when the prediction is far on the wrong side.
    target[upper] = prediction[upper] - noise_sd * np.exp(norm.logpdf(z[upper]) - norm.logcdf(z[upper]))
    target[lower] = prediction[lower] + noise_sd * np.exp(norm.logpdf(z[lower]) - norm.logsf(z[lower]))
    return target


def fit_with_censoring(kind: str, X: np.ndarray, y: np.ndarray, direction: np.ndarray,
                       settings: ModelSettings, seed: int) -> BaseEstimator:
    """Fit one estimator of ``kind``, using censored rows through truncated-normal imputation.

    Parameters
    ----------
    kind
        Model kind (see :data:`chem.models.settings.ModelKind`).
    X, y
        Features and p-activities (the bound for censored rows).
    direction
        Output of :func:`qualifier_directions`, row-aligned with ``y``.
    settings
        Model settings (``censored_noise_p`` and estimator sizes).
    seed
        Random seed of the estimator.

    Returns
    -------
    sklearn.base.BaseEstimator
        The fitted estimator.
    """
    censored = direction != 0
    if not censored.any():
        return build_estimator(kind, settings, seed).fit(X, y)
    exact = ~censored
    if exact.sum() >= _MIN_EXACT_FOR_FIRST_FIT:
        model = build_estimator(kind, settings, seed).fit(X[exact], y[exact])
    else:
        model = build_estimator(kind, settings, seed).fit(X, y)
    prediction = np.zeros_like(y, dtype=float)
    prediction[censored] = predict_with_spread(model, X[censored])[0]
    target = impute_censored_targets(y, direction, prediction, settings.censored_noise_p)
    return build_estimator(kind, settings, seed).fit(X, target)


def censored_residuals(y: np.ndarray, direction: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """Prediction errors that respect censoring: 0 when a censored prediction obeys its bound."""
    residual = prediction - y
    residual = np.where((direction < 0) & (residual <= 0), 0.0, residual)
    residual = np.where((direction > 0) & (residual >= 0), 0.0, residual)
    return residual
