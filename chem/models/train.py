"""Train an activity model: choose the kind by cross-validation, calibrate, fit on all data.

The same K-fold run does two jobs. Its out-of-fold RMSE (censoring-aware, see
:mod:`chem.models.censored`) picks the model kind, and the chosen kind's
out-of-fold predictions and spreads give the conformal calibration scores
(:mod:`chem.models.conformal`). Folds group identical canonical SMILES so that
replicates never sit on both sides of a split.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from chem.models.censored import censored_residuals, fit_with_censoring
from chem.models.conformal import conformal_quantile, nonconformity_scores, spread_floor
from chem.models.domain import domain_scores
from chem.models.estimators import predict_with_spread
from chem.models.features import pack_bits
from chem.models.settings import ModelSettings, level_tag
from chem.models.trained_model import MODEL_FORMAT_VERSION, TrainedModel
from chem.models.training_data import (TrainingTable, prepare_training_table, settings_hash,
                                       training_data_hash)


def group_folds(smiles: list[str], n_folds: int, seed: int) -> np.ndarray:
    """Fold number per row; rows with the same canonical SMILES share a fold."""
    groups, inverse = np.unique(np.asarray(smiles, dtype=object), return_inverse=True)
    n_folds = max(2, min(n_folds, len(groups)))
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of_group = np.empty(len(groups), dtype=int)
    fold_of_group[order] = np.arange(len(groups)) % n_folds
    return fold_of_group[inverse]


def regression_metrics(y: np.ndarray, direction: np.ndarray, prediction: np.ndarray) -> dict:
    """RMSE over all rows (censoring-aware) plus MAE, R² and Spearman on the exact rows."""
    exact = direction == 0
    residual = censored_residuals(y, direction, prediction)
    ye, pe = y[exact], prediction[exact]
    ss_tot = float(((ye - ye.mean()) ** 2).sum())
    spearman = spearmanr(ye, pe).statistic if np.ptp(pe) > 0 and np.ptp(ye) > 0 else float("nan")
    return {"rmse": float(np.sqrt(np.mean(residual ** 2))),
            "rmse_exact": float(np.sqrt(np.mean((pe - ye) ** 2))),
            "mae_exact": float(np.mean(np.abs(pe - ye))),
            "r2_exact": 1.0 - float(((pe - ye) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
            "spearman_exact": float(spearman)}


def cross_validate_kind(kind: str, table: TrainingTable, folds: np.ndarray,
                        settings: ModelSettings) -> tuple[np.ndarray, np.ndarray, dict]:
    """Out-of-fold predictions, raw spreads and metrics for one model kind."""
    prediction = np.zeros(len(table.y))
    spread = np.zeros(len(table.y))
    start = time.perf_counter()
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test
        model = fit_with_censoring(kind, table.X[train], table.y[train], table.direction[train],
                                   settings, settings.seed)
        prediction[test], spread[test] = predict_with_spread(model, table.X[test])
    metrics = regression_metrics(table.y, table.direction, prediction)
    metrics["cv_seconds"] = round(time.perf_counter() - start, 3)
    return prediction, spread, metrics


def _json_safe(value: object) -> object:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return repr(value)


def _code_version() -> str:
    try:
        return importlib_metadata.version("moltwin")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def train_activity_model(data: pd.DataFrame, settings: ModelSettings | None = None) -> TrainedModel:
    """Train an activity model with calibrated intervals and an applicability domain.

    Parameters
    ----------
    data
        One row per measurement: ``compound_id`` (optional), ``smiles``,
        ``p_activity`` (p-scale) and ``qualifier`` (optional; ``=``, ``~``, ``<``,
        ``<=``, ``>``, ``>=``). Censored rows are used, never dropped.
    settings
        Model settings; defaults to :class:`ModelSettings()`.

    Returns
    -------
    TrainedModel
        The best kind by cross-validated RMSE, refitted on all usable rows.

    Raises
    ------
    moltwin.errors.ModelError
        Too few usable measurements, identical activities, no parsable structure.
    """
    settings = settings or ModelSettings()
    table = prepare_training_table(data, settings)
    folds = group_folds(table.smiles, settings.cv_folds, settings.seed)
    cv_results = {kind: cross_validate_kind(kind, table, folds, settings) for kind in settings.model_kinds}
    best = min(settings.model_kinds, key=lambda kind: cv_results[kind][2]["rmse"])
    oof_prediction, oof_spread, _ = cv_results[best]

    floor = spread_floor(table.y[table.direction == 0])
    exact = table.direction == 0
    scores = nonconformity_scores(table.y[exact], oof_prediction[exact], oof_spread[exact] + floor)

    start = time.perf_counter()
    estimator = fit_with_censoring(best, table.X, table.y, table.direction, settings, settings.seed)
    fit_seconds = time.perf_counter() - start

    nn_similarity, _ = domain_scores(table.bits, table.bits, settings.ad_k_neighbors, exclude_self=True)
    data_sha = training_data_hash(table)
    settings_sha = settings_hash(settings)
    y_exact = table.y[exact]
    meta = {
        "model_id": f"act-{data_sha[:12]}-{settings_sha[:8]}",
        "model_format_version": MODEL_FORMAT_VERSION,
        "code_version": _code_version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_data_sha256": data_sha,
        "settings_sha256": settings_sha,
        "settings": settings.model_dump(mode="json"),
        "model_kind": best,
        "hyperparameters": {k: _json_safe(v) for k, v in estimator.get_params().items()},
        "cv_folds_used": int(len(np.unique(folds))),
        "cv_metrics": {kind: cv_results[kind][2] for kind in settings.model_kinds},
        **table.counts,
        "activity_mean_p": float(y_exact.mean()),
        "activity_std_p": float(y_exact.std()),
        "activity_range_p": [float(table.y.min()), float(table.y.max())],
        "sigma_floor": floor,
        "n_calibration": int(exact.sum()),
        "conformal_multipliers": {level_tag(a): conformal_quantile(scores, a) for a in settings.interval_levels},
        "calibration_rank_capped": any(np.ceil((exact.sum() + 1) * a) > exact.sum()
                                       for a in settings.interval_levels),
        "train_nn_similarity_median": float(np.median(nn_similarity)),
        "final_fit_seconds": round(fit_seconds, 3),
    }
    return TrainedModel(model_id=meta["model_id"], kind=best, estimator=estimator, settings=settings,
                        train_bits_packed=pack_bits(table.bits), train_smiles=list(table.smiles),
                        calibration_scores=scores, sigma_floor=floor, metadata=meta)
