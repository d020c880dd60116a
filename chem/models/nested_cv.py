"""Repeated, nested cross-validation: per-kind figures, and out-of-fold predictions after model choice.

One repeat splits the rows into ``cv_folds`` outer folds (identical canonical
SMILES share a fold). In each outer fold:

* every reported kind (the candidates plus the 1-NN and mean baselines) is fitted
  on the outer training rows and predicts the held-out rows: plain CV figures per kind;
* the model kind is chosen again *using the outer training rows only* (an inner
  ``inner_cv_folds`` CV over the candidates, lowest censoring-aware RMSE), and the
  held-out rows get the prediction of that chosen kind. These nested out-of-fold
  predictions are what a user's model would have said about a compound it had never
  seen, choice of kind included: they calibrate the intervals
  (:mod:`chem.models.conformal`) and are the only predictions shown for measured
  compounds.

Series below ``repeat_below_compounds`` rows get ``cv_repeats`` repeats with
different fold seeds; figures are means (and standard deviations) over repeats.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

from chem.models.censored import censored_residuals, fit_with_censoring
from chem.models.estimators import predict_with_spread
from chem.models.features import tanimoto_matrix
from chem.models.settings import BASELINE_KINDS, ModelSettings
from chem.models.training_data import TrainingTable
from moltwin import progress


def group_folds(groups: list[str] | np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold number per row; rows with the same group label share a fold.

    Groups are shuffled with ``seed``, then placed largest first, each into the
    fold holding the fewest rows so far (balanced group k-fold). With labels that
    are all distinct this is a plain shuffled k-fold.
    """
    labels, inverse, sizes = np.unique(np.asarray(groups, dtype=object), return_inverse=True,
                                       return_counts=True)
    n_folds = max(2, min(n_folds, len(labels)))
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_of_group = np.empty(len(labels), dtype=int)
    rows_in_fold = np.zeros(n_folds, dtype=int)
    for g in order:
        fold = int(np.argmin(rows_in_fold))
        fold_of_group[g] = fold
        rows_in_fold[fold] += sizes[g]
    return fold_of_group[inverse]


def cv_groups(smiles: list[str], n_folds: int, grouping: str) -> np.ndarray:
    """CV group label per row: Bemis-Murcko scaffold (``grouping="scaffold"``) or canonical SMILES.

    Scaffold groups make every held-out compound scaffold-novel to its training
    fold, as compounds proposed later usually are; random folds keep close
    analogues on both sides and give residuals (hence intervals) that are too
    optimistic for new scaffolds. A series with fewer than ``2 * n_folds``
    scaffolds (or whose largest scaffold holds more than half the rows) cannot be
    split that way into balanced folds, and falls back to one group per compound.
    """
    smiles = np.asarray(smiles, dtype=object)
    if grouping != "scaffold":
        return smiles
    from chem.models.splits import murcko_scaffold

    scaffolds = np.array([murcko_scaffold(s) or s for s in smiles], dtype=object)
    _, sizes = np.unique(scaffolds, return_counts=True)
    if len(sizes) < 2 * n_folds or sizes.max() > len(smiles) / 2:
        return smiles
    return scaffolds


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


@dataclass(slots=True)
class RepeatResult:
    """One CV repeat: plain out-of-fold (prediction, spread) per kind, and the nested choice."""

    plain: dict[str, tuple[np.ndarray, np.ndarray]]
    nested_prediction: np.ndarray
    nested_spread: np.ndarray
    nested_kind: np.ndarray
    similarity: np.ndarray
    folds: np.ndarray
    seconds_per_kind: dict[str, float] = field(default_factory=dict)


FitCache = dict


def _fit_predict(kind: str, table: TrainingTable, train: np.ndarray, test: np.ndarray,
                 settings: ModelSettings, seed: int, cache: FitCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``kind`` on the ``train`` rows and predict the ``test`` rows.

    ``cache`` (a dict shared by calls on the same table and settings, e.g. by
    :func:`chem.models.evaluate.evaluate_models`, whose per-kind and selected runs
    use identical folds) returns an earlier identical fit's predictions.
    """
    key = (kind, seed, hashlib.sha1(train.tobytes()).hexdigest(), hashlib.sha1(test.tobytes()).hexdigest())
    if cache is not None and key in cache:
        return cache[key]
    model = fit_with_censoring(kind, table.X[train], table.y[train], table.direction[train], settings, seed)
    result = predict_with_spread(model, table.X[test])
    if cache is not None:
        cache[key] = result
    return result


def choose_kind(kinds: list[str], table: TrainingTable, rows: np.ndarray, settings: ModelSettings,
                seed: int, cache: FitCache | None = None) -> str:
    """The candidate with the lowest censoring-aware CV RMSE on ``rows`` (inner folds).

    From ``repeat_below_compounds`` rows up, only the first inner fold is held out
    (one inner hold-out of a third of the rows, hundreds of compounds: enough to rank
    the kinds, at a third of the cost).
    """
    if len(kinds) == 1:
        return kinds[0]
    folds = group_folds(cv_groups([table.smiles[i] for i in rows], settings.inner_cv_folds,
                                  settings.cv_grouping), settings.inner_cv_folds, seed)
    inner = np.unique(folds)[:1] if len(rows) >= settings.repeat_below_compounds else np.unique(folds)
    scored = np.isin(folds, inner)
    y, direction = table.y[rows][scored], table.direction[rows][scored]
    rmse = {}
    for kind in kinds:
        prediction = np.zeros(len(rows))
        for fold in inner:
            test = folds == fold
            prediction[test] = _fit_predict(kind, table, rows[~test], rows[test], settings, seed, cache)[0]
        rmse[kind] = float(np.sqrt(np.mean(censored_residuals(y, direction, prediction[scored]) ** 2)))
    return min(kinds, key=lambda k: (rmse[k], kinds.index(k)))


def run_repeat(kinds: list[str], table: TrainingTable, settings: ModelSettings, seed: int,
               cache: FitCache | None = None, report_folds: bool = False) -> RepeatResult:
    """One repeat of the outer CV: plain predictions of every reported kind and the nested choice.

    ``report_folds``: report each finished outer fold as a ``cross-validation`` item
    (:mod:`moltwin.progress`).
    """
    import time

    n = len(table.y)
    reported = list(dict.fromkeys([*kinds, *BASELINE_KINDS]))
    folds = group_folds(cv_groups(table.smiles, settings.cv_folds, settings.cv_grouping), settings.cv_folds, seed)
    plain = {k: (np.zeros(n), np.zeros(n)) for k in reported}
    seconds = dict.fromkeys(reported, 0.0)
    nested_kind = np.empty(n, dtype=object)
    similarity = np.zeros(n)
    for i, fold in enumerate(np.unique(folds)):
        test, train = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
        for kind in reported:
            start = time.perf_counter()
            plain[kind][0][test], plain[kind][1][test] = _fit_predict(kind, table, train, test, settings, seed,
                                                                      cache)
            seconds[kind] += time.perf_counter() - start
        nested_kind[test] = choose_kind(kinds, table, train, settings, seed, cache)
        similarity[test] = tanimoto_matrix(table.bits[test], table.bits[train]).max(axis=1)
        if report_folds:
            progress.item_done("cross-validation", f"outer fold (chosen: {nested_kind[test][0]})")
    nested_prediction = np.array([plain[k][0][r] for r, k in enumerate(nested_kind)])
    nested_spread = np.array([plain[k][1][r] for r, k in enumerate(nested_kind)])
    return RepeatResult(plain, nested_prediction, nested_spread, nested_kind, similarity, folds,
                        {k: round(v, 3) for k, v in seconds.items()})


def n_repeats(n_rows: int, settings: ModelSettings) -> int:
    """Repeats of the outer CV: ``cv_repeats`` below ``repeat_below_compounds`` rows, else 1."""
    return settings.cv_repeats if n_rows < settings.repeat_below_compounds else 1


def summarize(results: list[RepeatResult], table: TrainingTable) -> tuple[dict, dict]:
    """Per-kind and nested-choice CV metrics: mean over repeats, plus ``<metric>_sd`` across repeats."""
    def mean_sd(rows: list[dict]) -> dict:
        out = {}
        for key in rows[0]:
            values = np.array([r[key] for r in rows], float)
            out[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            if len(rows) > 1:
                out[f"{key}_sd"] = float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else float("nan")
        out["n_repeats"] = len(rows)
        return out

    per_kind = {kind: mean_sd([regression_metrics(table.y, table.direction, r.plain[kind][0]) for r in results])
                for kind in results[0].plain}
    for kind in per_kind:
        per_kind[kind]["cv_seconds"] = round(sum(r.seconds_per_kind[kind] for r in results), 3)
    nested = mean_sd([regression_metrics(table.y, table.direction, r.nested_prediction) for r in results])
    chosen = [r.nested_kind[r.folds == f][0] for r in results for f in np.unique(r.folds)]
    nested["kinds_chosen_in_folds"] = {k: chosen.count(k) for k in sorted(set(chosen))}
    return per_kind, nested
