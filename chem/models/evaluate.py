"""Benchmark activity-model kinds on a held-out split, beside the nested choice and two baselines.

Rows: every candidate kind trained alone; ``selected`` (the full training procedure,
kind chosen by repeated CV, intervals calibrated by nested CV: what a user gets);
and the ``nearest_neighbor`` (1-NN) and ``mean_baseline`` predictors, so a model
that only echoes its nearest training value is visible; with a known core, the
``free_wilson`` baseline (ridge on R-group indicators, :mod:`chem.models.free_wilson`);
when asked (``chemprop_epochs``), a ``chemprop`` row: a Chemprop v2 D-MPNN trained once for
fixed epochs, outside the nested choice (:mod:`chem.models.chemprop_model`).

Regression and coverage metrics use the exact (``=``/``~``) test measurements;
censored test rows are counted but not scored, since they have no exact value.
Coverage is the share of those measurements inside the stated interval, which
should be close to the nominal level when the conformal calibration holds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from chem.models.censored import qualifier_directions
from chem.models.predict import predict_activity
from chem.models.settings import BASELINE_KINDS, ModelSettings, level_tag
from chem.models.splits import SplitKind, split_rows
from chem.models.train import candidate_kinds, train_activity_model
from moltwin import progress

BASELINE_KIND = "mean_baseline"
SELECTED = "selected"


def score_predictions(y: np.ndarray, predictions: pd.DataFrame, levels: list[float],
                      activity_threshold_p: float) -> dict:
    """Regression, interval and classification metrics of predictions against exact measurements.

    Parameters
    ----------
    y
        Measured p-activities, row-aligned with ``predictions``.
    predictions
        Output of :func:`chem.models.predict.predict_activity`.
    levels
        Interval levels to score (columns ``lower_<pct>``/``upper_<pct>`` must exist).
    activity_threshold_p
        Compounds with ``p_activity >= threshold`` count as actives for ROC-AUC and PR-AUC.
    """
    pred = predictions["pred_p_activity"].to_numpy(dtype=float)
    scored = np.isfinite(pred) & np.isfinite(y)
    y, pred, table = y[scored], pred[scored], predictions[scored]
    residual = pred - y
    ss_tot = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    varied = len(y) > 1 and np.ptp(y) > 0 and np.ptp(pred) > 0
    row = {"n_scored": int(len(y)),
           "rmse": float(np.sqrt(np.mean(residual ** 2))) if len(y) else np.nan,
           "mae": float(np.mean(np.abs(residual))) if len(y) else np.nan,
           "r2": 1.0 - float((residual ** 2).sum()) / ss_tot if ss_tot > 0 else np.nan,
           "spearman": float(spearmanr(y, pred).statistic) if varied else np.nan}
    for level in levels:
        tag = level_tag(level)
        lower, upper = table[f"lower_{tag}"].to_numpy(), table[f"upper_{tag}"].to_numpy()
        row[f"coverage_{tag}"] = float(np.mean((y >= lower) & (y <= upper))) if len(y) else np.nan
        row[f"mean_width_{tag}"] = float(np.mean(upper - lower)) if len(y) else np.nan
    in_domain = table["in_domain"].to_numpy(dtype=bool)
    similarity = table["max_train_similarity"].to_numpy(dtype=float)
    if len(y) >= 3:  # coverage of the first level per similarity tercile of the test compounds
        tag = level_tag(levels[0])
        tercile = np.digitize(similarity, np.quantile(similarity, [1 / 3, 2 / 3]))
        hit = (y >= table[f"lower_{tag}"].to_numpy()) & (y <= table[f"upper_{tag}"].to_numpy())
        for t in range(3):
            sel = tercile == t
            row[f"coverage_{tag}_sim_tercile_{t + 1}"] = float(hit[sel].mean()) if sel.any() else np.nan
            row[f"rmse_sim_tercile_{t + 1}"] = float(np.sqrt(np.mean(residual[sel] ** 2))) if sel.any() else np.nan
    row["fraction_in_domain"] = float(in_domain.mean()) if len(y) else np.nan
    row["rmse_in_domain"] = float(np.sqrt(np.mean(residual[in_domain] ** 2))) if in_domain.any() else np.nan
    row["rmse_out_of_domain"] = (float(np.sqrt(np.mean(residual[~in_domain] ** 2)))
                                 if (~in_domain).any() else np.nan)
    active = y >= activity_threshold_p
    both_classes = 0 < active.sum() < len(active)
    row["activity_threshold_p"] = activity_threshold_p
    row["n_test_active"] = int(active.sum())
    row["roc_auc"] = float(roc_auc_score(active, pred)) if both_classes else np.nan
    row["pr_auc"] = float(average_precision_score(active, pred)) if both_classes else np.nan
    return row


def evaluate_models(data: pd.DataFrame, split: SplitKind, settings: ModelSettings | None = None,
                    date_col: str | None = None, test_fraction: float = 0.2,
                    activity_threshold_p: float = 6.0, include_selected: bool = True, core_smiles: str | None = None,
                    chemprop_epochs: int = 0) -> pd.DataFrame:
    """Train each candidate kind, the selected model and the baselines on a training split; score on the test split.

    Parameters
    ----------
    data
        Activity table as for :func:`chem.models.train.train_activity_model`
        (``compound_id``, ``smiles``, ``p_activity``, ``qualifier``).
    split
        ``random``, ``scaffold`` (Bemis-Murcko groups) or ``time`` (needs ``date_col``).
    settings
        Model settings; every kind in ``settings.model_kinds`` is evaluated.
    date_col
        Date column for the time split.
    test_fraction
        Share of rows held out.
    activity_threshold_p
        p-activity at or above which a compound counts as active (ROC-AUC, PR-AUC).
    include_selected
        Also train the full procedure (``selected`` row, kind chosen by CV).
    core_smiles
        The series core with numbered sites (``[*:1]`` ...): adds the ``free_wilson`` baseline row.
    chemprop_epochs
        When positive, adds a ``chemprop`` row trained for this many epochs (meant for
        series of >= 1,000 compounds; ``seconds_per_epoch`` is reported).

    Returns
    -------
    pandas.DataFrame
        One row per model: ``split, model_kind, chosen_kind, n_train, n_test,
        n_test_censored, n_scored, rmse, mae, r2, spearman, coverage_<pct>,
        mean_width_<pct>, coverage_<first pct>_sim_tercile_<1-3>, rmse_sim_tercile_<1-3>
        (test compounds by max similarity to training, tercile 1 least similar),
        fraction_in_domain, rmse_in_domain, rmse_out_of_domain, activity_threshold_p,
        n_test_active, roc_auc, pr_auc, train_seconds, predict_seconds``. Kinds that do
        not apply at this size (an exact GP above ``gp_max_compounds``) are left out.
    """
    settings = settings or ModelSettings()
    data = data.reset_index(drop=True)
    train_rows, test_rows = split_rows(data, split, test_fraction, settings.seed, date_col)
    train, test = data.iloc[train_rows], data.iloc[test_rows]
    qualifiers = test["qualifier"] if "qualifier" in test.columns else pd.Series(["="] * len(test))
    exact = qualifier_directions(qualifiers.reset_index(drop=True)) == 0
    y_test = pd.to_numeric(test["p_activity"], errors="coerce").to_numpy(dtype=float)
    y_test = np.where(exact, y_test, np.nan)  # censored rows are not scored
    records = []
    usable, skipped = candidate_kinds(settings, len(train))
    for note in skipped:
        progress.stage("skipped", note)
    runs = [(kind, [kind]) for kind in usable]
    if include_selected and len(usable) > 1:
        runs.append((SELECTED, usable))
    runs += [(kind, [kind]) for kind in BASELINE_KINDS if kind not in usable]
    fit_cache: dict = {}  # the runs share folds: each fold fit of a kind is made once
    progress.begin_items("evaluate", len(runs) + bool(core_smiles) + (chemprop_epochs > 0))
    for kind, kinds in runs:
        kind_settings = settings.model_copy(update={"model_kinds": kinds})
        start = time.perf_counter()
        model = train_activity_model(train, kind_settings, fit_cache=fit_cache)
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        predictions = predict_activity(model, test)
        predict_seconds = time.perf_counter() - start
        row = {"split": split, "model_kind": kind, "chosen_kind": model.kind, "n_train": model.metadata["n_train"],
               "n_test": int(len(test)), "n_test_censored": int((~exact).sum())}
        row.update(score_predictions(y_test, predictions, settings.interval_levels, activity_threshold_p))
        row.update(train_seconds=round(train_seconds, 2), predict_seconds=round(predict_seconds, 3))
        records.append(row)
        _report(row)
    if core_smiles:
        records.append(_free_wilson_row(train, test, y_test, exact, core_smiles, split, settings,
                                        activity_threshold_p))
        _report(records[-1])
    if chemprop_epochs > 0:
        records.append(_chemprop_row(train, test, y_test, exact, split, settings, activity_threshold_p,
                                     chemprop_epochs))
        _report(records[-1])
    return pd.DataFrame.from_records(records)


def _report(row: dict) -> None:
    progress.item_done("evaluate", f"{row['model_kind']}: RMSE {row.get('rmse', float('nan')):.2f} "
                                   f"(train {row['train_seconds']:.1f} s)")


def _chemprop_row(train: pd.DataFrame, test: pd.DataFrame, y_test: np.ndarray, exact: np.ndarray, split: str,
                  settings: ModelSettings, activity_threshold_p: float, epochs: int) -> dict:
    """Chemprop on 90 % of the training rows; split-conformal intervals from the other 10 % (scaffold-held-out)."""
    from chem.models.chemprop_model import ChempropRegressor
    from chem.models.conformal import ONE_SIGMA_LEVEL, NormalizedConformal
    from chem.models.domain import domain_scores
    from chem.models.features import featurize_smiles

    qualifiers = train["qualifier"] if "qualifier" in train.columns else pd.Series(["="] * len(train))
    y = pd.to_numeric(train["p_activity"], errors="coerce").to_numpy(float)
    keep = (qualifier_directions(qualifiers.reset_index(drop=True)) == 0) & np.isfinite(y)
    batch = featurize_smiles(train["smiles"].tolist(), settings)
    keep &= batch.ok
    smiles = [s for s, k in zip(batch.canonical_smiles, keep) if k]
    y = y[keep]
    fit_rows, cal_rows = split_rows(pd.DataFrame({"smiles": smiles}), "scaffold", 0.1, settings.seed)
    start = time.perf_counter()
    model = ChempropRegressor(epochs=epochs, seed=settings.seed).fit([smiles[i] for i in fit_rows], y[fit_rows])
    train_seconds = time.perf_counter() - start
    residuals = y[cal_rows] - model.predict([smiles[i] for i in cal_rows])
    baseline = y[cal_rows] - y[fit_rows].mean()
    conformal = NormalizedConformal(residuals, np.ones(len(cal_rows)), np.zeros(len(cal_rows), int), baseline)
    test_batch = featurize_smiles(test["smiles"].tolist(), settings)
    ok = test_batch.ok
    start = time.perf_counter()
    prediction = np.full(len(test), np.nan)
    prediction[ok] = model.predict([s for s, good in zip(test_batch.canonical_smiles, ok) if good])
    predict_seconds = time.perf_counter() - start
    predictions = pd.DataFrame({"pred_p_activity": prediction})
    ones, zeros = np.ones(len(test)), np.zeros(len(test), int)
    lower, upper = conformal.bounds(prediction, ones, zeros, ONE_SIGMA_LEVEL)
    predictions["pred_std"] = (upper - lower) / 2
    for level in settings.interval_levels:
        predictions[f"lower_{level_tag(level)}"], predictions[f"upper_{level_tag(level)}"] = conformal.bounds(
            prediction, ones, zeros, level)
    similarity = np.zeros(len(test))
    similarity[ok] = domain_scores(test_batch.bits, batch.bits[keep][fit_rows], settings.ad_k_neighbors)[0]
    predictions["max_train_similarity"] = similarity
    predictions["in_domain"] = ok & (similarity >= settings.ad_min_similarity)
    row = {"split": split, "model_kind": "chemprop", "chosen_kind": "chemprop", "n_train": int(len(fit_rows)),
           "n_test": int(len(test)), "n_test_censored": int((~exact).sum())}
    row.update(score_predictions(y_test, predictions, settings.interval_levels, activity_threshold_p))
    row.update(n_calibration=int(len(cal_rows)), epochs=epochs,
               seconds_per_epoch=round(model.seconds_per_epoch_, 2),
               train_seconds=round(train_seconds, 2), predict_seconds=round(predict_seconds, 3))
    return row


def _free_wilson_row(train: pd.DataFrame, test: pd.DataFrame, y_test: np.ndarray, exact: np.ndarray,
                     core_smiles: str, split: str, settings: ModelSettings, activity_threshold_p: float) -> dict:
    from chem.models.free_wilson import free_wilson_predictions

    start = time.perf_counter()
    predictions = free_wilson_predictions(train, test, core_smiles, settings)
    seconds = time.perf_counter() - start
    row = {"split": split, "model_kind": "free_wilson", "chosen_kind": "free_wilson", "n_train": int(len(train)),
           "n_test": int(len(test)), "n_test_censored": int((~exact).sum())}
    row.update(score_predictions(y_test, predictions, settings.interval_levels, activity_threshold_p))
    row.update(fraction_core_matched=float(predictions["core_matched"].mean()),
               train_seconds=round(seconds, 2), predict_seconds=0.0)
    return row
