"""Train an activity model: nested, repeated CV for honest evidence and intervals; fit on all data.

Steps (:mod:`chem.models.nested_cv` does the cross-validation):

1. Repeated outer CV (``cv_repeats`` runs below ``repeat_below_compounds`` rows,
   else one). Every candidate kind and both baselines (1-NN, mean) get plain
   out-of-fold figures; inside every outer fold the kind is also chosen again
   on the outer training rows only, giving *nested* out-of-fold predictions.
2. The kind with the lowest mean CV RMSE over repeats is refitted on all rows.
3. The nested out-of-fold residuals, normalized by each model's own spread,
   calibrate the conformal intervals (:mod:`chem.models.conformal`), per
   applicability-domain bin where each bin keeps enough compounds.
4. Every training compound keeps its nested out-of-fold prediction, interval
   and the kind that made it (``TrainedModel.out_of_fold``, first repeat): the
   only predictions shown for measured compounds.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata

import numpy as np
import pandas as pd

from chem.models.censored import fit_with_censoring
from chem.models.conformal import (ONE_SIGMA_LEVEL, NormalizedConformal, domain_bin_edges, domain_bins,
                                   spread_floor)
from chem.models.domain import domain_scores
from chem.models.features import pack_bits
from chem.models.nested_cv import group_folds, n_repeats, run_repeat, summarize  # noqa: F401
from chem.models.settings import ModelSettings, level_tag
from chem.models.trained_model import MODEL_FORMAT_VERSION, TrainedModel
from chem.models.training_data import TrainingTable, prepare_training_table, settings_hash, training_data_hash
from moltwin import progress


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


def candidate_kinds(settings: ModelSettings, n_rows: int) -> tuple[list[str], list[str]]:
    """Kinds that take part for a series of ``n_rows`` rows, and the ones skipped (with why)."""
    kinds, skipped = [], []
    for kind in settings.model_kinds:
        if kind == "gaussian_process" and n_rows > settings.gp_max_compounds:
            skipped.append(f"gaussian_process: {n_rows} rows > gp_max_compounds {settings.gp_max_compounds}")
        elif kind == "gaussian_process" and settings.features == "descriptors":
            skipped.append("gaussian_process: needs Morgan count features")
        else:
            kinds.append(kind)
    return (kinds or ["knn"]), skipped


def _rmse(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values ** 2))) if len(values) else float("nan")


def error_by_domain(residual: np.ndarray, similarity: np.ndarray, cutoff: float) -> dict:
    """Out-of-fold RMSE per similarity tercile and inside / outside the domain cut-off."""
    edges = np.quantile(similarity, [1 / 3, 2 / 3]) if len(similarity) >= 3 else np.array([0.0, 0.0])
    tercile = np.digitize(similarity, edges)
    rows = {f"tercile_{t + 1}": {"similarity_range": [float(similarity[tercile == t].min()),
                                                      float(similarity[tercile == t].max())],
                                 "n": int((tercile == t).sum()), "rmse": _rmse(residual[tercile == t])}
            for t in range(3) if (tercile == t).any()}
    inside = similarity >= cutoff
    rows["in_domain"] = {"n": int(inside.sum()), "rmse": _rmse(residual[inside])}
    rows["out_of_domain"] = {"n": int((~inside).sum()), "rmse": _rmse(residual[~inside])}
    return rows


def _out_of_fold_table(table: TrainingTable, first, sigma: np.ndarray, conformal: NormalizedConformal,
                       edges: list[float], settings: ModelSettings) -> pd.DataFrame:
    """Per training row: nested out-of-fold prediction, calibrated std and bounds (first repeat)."""
    bins = domain_bins(first.similarity, edges)
    out = pd.DataFrame({"compound_id": table.compound_ids, "smiles": table.smiles,
                        "oof_pred_p_activity": first.nested_prediction})
    lower, upper = conformal.bounds(first.nested_prediction, sigma, bins, ONE_SIGMA_LEVEL)
    out["oof_pred_std"] = (upper - lower) / 2
    for level in settings.interval_levels:
        lower, upper = conformal.bounds(first.nested_prediction, sigma, bins, level)
        out[f"oof_lower_{level_tag(level)}"], out[f"oof_upper_{level_tag(level)}"] = lower, upper
    out["oof_max_train_similarity"] = first.similarity
    out["oof_model_kind"] = first.nested_kind.astype(str)
    return out


def out_of_fold_summary(meta: dict) -> dict:
    """Out-of-fold figures shown to users (report, CLI).

    The nested-CV metrics of the whole procedure (kind chosen inside each fold),
    means over repeats, and the 1-NN baseline's out-of-fold RMSE as ``rmse_1nn_baseline``.
    """
    nested = meta.get("nested_cv_metrics", {})
    shown = {k: v for k, v in nested.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    baseline = meta.get("cv_metrics", {}).get("nearest_neighbor", {}).get("rmse")
    if isinstance(baseline, (int, float)):
        shown["rmse_1nn_baseline"] = baseline
    return shown



def train_activity_model(data: pd.DataFrame, settings: ModelSettings | None = None,
                         fit_cache: dict | None = None) -> TrainedModel:
    """Train an activity model with calibrated intervals and an applicability domain.

    Parameters
    ----------
    data
        One row per measurement: ``compound_id`` (optional), ``smiles``,
        ``p_activity`` (p-scale) and ``qualifier`` (optional; ``=``, ``~``, ``<``,
        ``<=``, ``>``, ``>=``). Censored rows are used, never dropped.
    settings
        Model settings; defaults to :class:`ModelSettings()`.
    fit_cache
        Optional dict reused across calls on the *same data and settings other than
        ``model_kinds``*: identical fold fits are then computed once.

    Returns
    -------
    TrainedModel
        The best kind by repeated-CV RMSE, refitted on all usable rows, with
        nested out-of-fold predictions for every training row.

    Raises
    ------
    moltwin.errors.ModelError
        Too few usable measurements, identical activities, no parsable structure.
    """
    settings = settings or ModelSettings()
    table = prepare_training_table(data, settings)
    kinds, skipped = candidate_kinds(settings, len(table.y))
    repeats = n_repeats(len(table.y), settings)
    start = time.perf_counter()
    results = []
    # Progress (moltwin.progress, silent unless a command turned it on): one item per repeat, or per
    # outer fold when there is a single (long) repeat.
    progress.begin_items("cross-validation", repeats if repeats > 1 else settings.cv_folds)
    for r in range(repeats):
        results.append(run_repeat(kinds, table, settings, settings.seed + r, fit_cache,
                                  report_folds=repeats == 1))
        if repeats > 1:
            progress.item_done("cross-validation", f"repeat ({len(table.y)} rows, kinds {', '.join(kinds)})")
    cv_seconds = time.perf_counter() - start
    per_kind, nested = summarize(results, table)
    best = min(kinds, key=lambda k: (per_kind[k]["rmse"], kinds.index(k)))

    exact = table.direction == 0
    floor = spread_floor(table.y[exact])
    residuals = np.concatenate([(table.y - r.nested_prediction)[exact] for r in results])
    sigmas = np.concatenate([(r.nested_spread + floor)[exact] for r in results])
    similarities = np.concatenate([r.similarity[exact] for r in results])
    edges = domain_bin_edges(results[0].similarity[exact], len(set(np.asarray(table.smiles)[exact])),
                             settings.mondrian_min_bin)
    bins = domain_bins(similarities, edges)
    baseline_residuals = np.concatenate([(table.y - r.plain["mean_baseline"][0])[exact] for r in results])
    conformal = NormalizedConformal(residuals, sigmas, bins, baseline_residuals)
    # The domain cut-off comes from each training compound's similarity to its nearest *other*
    # training compound (leave-one-out), not from the CV folds: scaffold-grouped folds make every
    # out-of-fold compound scaffold-novel, and a cut-off at their 10 % quantile would call almost
    # any query that resembles the series "in domain".
    nn_similarity, _ = domain_scores(table.bits, table.bits, settings.ad_k_neighbors, exclude_self=True)
    ad_cutoff = max(settings.ad_min_similarity, float(np.quantile(nn_similarity, settings.ad_quantile)))
    out_of_fold = _out_of_fold_table(table, results[0], results[0].nested_spread + floor, conformal, edges, settings)

    start = time.perf_counter()
    estimator = fit_with_censoring(best, table.X, table.y, table.direction, settings, settings.seed)
    fit_seconds = time.perf_counter() - start

    data_sha, settings_sha = training_data_hash(table), settings_hash(settings)
    y_exact = table.y[exact]
    n_cal = int(exact.sum())
    meta = {
        "model_id": f"act-{data_sha[:12]}-{settings_sha[:8]}",
        "model_format_version": MODEL_FORMAT_VERSION, "code_version": _code_version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_data_sha256": data_sha, "settings_sha256": settings_sha,
        "settings": settings.model_dump(mode="json"),
        "model_kind": best, "candidate_kinds": kinds, "skipped_kinds": skipped,
        "hyperparameters": {k: _json_safe(v) for k, v in estimator.get_params().items()},
        "fitted_parameters": (estimator.get_fitted_params() if hasattr(estimator, "get_fitted_params") else {}),
        "cv_folds_used": int(len(np.unique(results[0].folds))), "cv_repeats": repeats,
        "evidence": "out-of-fold (nested, repeated cross-validation)",
        "cv_metrics": per_kind, "nested_cv_metrics": nested, "cv_seconds": round(cv_seconds, 3),
        **table.counts,
        "activity_mean_p": float(y_exact.mean()), "activity_std_p": float(y_exact.std()),
        "activity_range_p": [float(table.y.min()), float(table.y.max())],
        "sigma_floor": floor, "n_calibration": n_cal, "n_calibration_residuals": int(len(residuals)),
        "mondrian_bin_edges": edges, "mondrian": conformal.is_mondrian(),
        "conformal_multipliers": {level_tag(a): conformal.multipliers(a) for a in settings.interval_levels},
        "interval_cap_half_width_p": {level_tag(a): conformal.cap_half_width(a)
                                      for a in [ONE_SIGMA_LEVEL, *settings.interval_levels]},
        "calibration_rank_capped": any(np.ceil((len(residuals) / max(len(edges) + 1, 1) + 1) * a)
                                       > len(residuals) / max(len(edges) + 1, 1)
                                       for a in settings.interval_levels),
        "ad_similarity_cutoff": ad_cutoff,
        "oof_error_by_domain": error_by_domain((table.y - results[0].nested_prediction)[exact],
                                               results[0].similarity[exact], ad_cutoff),
        "train_nn_similarity_median": float(np.median(nn_similarity)),
        "final_fit_seconds": round(fit_seconds, 3),
    }
    return TrainedModel(model_id=meta["model_id"], kind=best, estimator=estimator, settings=settings,
                        train_bits_packed=pack_bits(table.bits), train_smiles=list(table.smiles),
                        calibration_residuals=residuals, calibration_sigmas=sigmas,
                        calibration_bins=bins, domain_bin_edges=edges, ad_similarity_cutoff=ad_cutoff,
                        sigma_floor=floor, out_of_fold=out_of_fold, metadata=meta,
                        baseline_residuals=baseline_residuals)
