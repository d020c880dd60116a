"""Predict p-activities with calibrated intervals and an applicability-domain flag."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from chem.models.conformal import ONE_SIGMA_LEVEL, NormalizedConformal, domain_bins
from chem.models.domain import domain_scores
from chem.models.estimators import predict_with_spread
from chem.models.features import featurize_smiles
from chem.models.settings import level_tag
from chem.models.trained_model import TrainedModel
from moltwin.errors import ModelError
from moltwin.records import FailureRecord

# Rows featurized at a time: 10,000 x 2,048 float32 features is ~80 MB.
DEFAULT_CHUNK = 10_000


def prediction_columns(model: TrainedModel) -> list[str]:
    """Output columns of :func:`predict_activity` for this model's interval levels."""
    bounds = [f"{side}_{level_tag(a)}" for a in model.settings.interval_levels for side in ("lower", "upper")]
    return ["compound_id", "smiles", "pred_p_activity", "pred_std", *bounds, "max_train_similarity",
            "mean_knn_distance", "in_domain", "model_id", "error"]


def _as_frame(molecules: list[str] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(molecules, pd.DataFrame):
        if "smiles" not in molecules.columns:
            raise ModelError("prediction input needs a 'smiles' column (and optionally 'compound_id')")
        ids = (molecules["compound_id"].astype(str).tolist() if "compound_id" in molecules.columns
               else [f"row_{i}" for i in range(len(molecules))])
        return pd.DataFrame({"compound_id": ids, "smiles": molecules["smiles"].tolist()})
    smiles = list(molecules)
    return pd.DataFrame({"compound_id": [f"row_{i}" for i in range(len(smiles))], "smiles": smiles})


def predict_activity(model: TrainedModel, molecules: list[str] | pd.DataFrame,
                     chunk_size: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Predict p-activity, calibrated uncertainty and domain membership for each molecule.

    Parameters
    ----------
    model
        A model from :func:`chem.models.train.train_activity_model` or the registry.
    molecules
        A list of SMILES (ids become ``row_0``, ``row_1`` ...) or a DataFrame with
        ``smiles`` and optionally ``compound_id``.
    chunk_size
        Rows featurized and predicted at a time (see :func:`iter_predictions`).

    Returns
    -------
    pandas.DataFrame
        One row per input, in input order, columns from :func:`prediction_columns`:
        ``pred_p_activity``; ``pred_std`` (calibrated one-sigma, half-width of a
        68 % conformal interval); ``lower_80``/``upper_80``, ``lower_90``/``upper_90``
        (conformal bounds, one pair per configured level, calibrated per domain bin
        where the model is Mondrian); ``max_train_similarity`` and
        ``mean_knn_distance`` (Tanimoto, Morgan bits); ``in_domain``
        (``max_train_similarity >= model.ad_similarity_cutoff``);
        ``model_id``; ``error`` ("" when the row was predicted). Unparsable SMILES
        give NaN predictions, ``in_domain=False`` and the reason in ``error``.
    """
    frame = _as_frame(molecules)
    if len(frame) <= chunk_size:
        return _predict_frame(model, frame, model.conformal())
    return pd.concat(list(iter_predictions(model, frame, chunk_size)), ignore_index=True)


def iter_predictions(model: TrainedModel, molecules: list[str] | pd.DataFrame,
                     chunk_size: int = DEFAULT_CHUNK) -> Iterator[pd.DataFrame]:
    """Predictions in blocks of ``chunk_size`` rows, so features never exist for the whole input.

    Memory stays flat in the input size when the caller writes each block away
    (e.g. to a Parquet file) instead of keeping them.
    """
    frame = _as_frame(molecules)
    conformal = model.conformal()
    for start in range(0, len(frame), chunk_size):
        yield _predict_frame(model, frame.iloc[start:start + chunk_size].reset_index(drop=True), conformal)


def _predict_frame(model: TrainedModel, frame: pd.DataFrame, conformal: NormalizedConformal) -> pd.DataFrame:
    batch = featurize_smiles(frame["smiles"].tolist(), model.settings)
    n = len(frame)
    out = pd.DataFrame({"compound_id": frame["compound_id"],
                        "smiles": [c if c else s for c, s in zip(batch.canonical_smiles, frame["smiles"])]})
    # Float columns start as NaN so failed rows stay NaN.
    columns = {c: np.full(n, np.nan) for c in prediction_columns(model)[2:-3]}
    in_domain = np.zeros(n, dtype=bool)
    if batch.ok.any():
        ok = batch.ok
        mean, spread = predict_with_spread(model.estimator, batch.X)
        # Beyond the largest calibration sigma the interval keeps widening with the model's own
        # spread, up to the mean baseline's interval (NormalizedConformal.bounds caps it there).
        sigma = spread + model.sigma_floor
        max_sim, knn_dist = domain_scores(batch.bits, model.train_bits, model.settings.ad_k_neighbors)
        bins = domain_bins(max_sim, model.domain_bin_edges)
        columns["pred_p_activity"][ok] = mean
        lower, upper = conformal.bounds(mean, sigma, bins, ONE_SIGMA_LEVEL)
        columns["pred_std"][ok] = (upper - lower) / 2
        for level in model.settings.interval_levels:
            lower, upper = conformal.bounds(mean, sigma, bins, level)
            columns[f"lower_{level_tag(level)}"][ok] = lower
            columns[f"upper_{level_tag(level)}"][ok] = upper
        columns["max_train_similarity"][ok] = max_sim
        columns["mean_knn_distance"][ok] = knn_dist
        in_domain[ok] = max_sim >= model.ad_similarity_cutoff
    for name, values in columns.items():
        out[name] = values
    out["in_domain"] = in_domain
    out["model_id"] = model.model_id
    out["error"] = batch.errors
    return out[prediction_columns(model)]


def out_of_fold_columns(model: TrainedModel) -> list[str]:
    """The ``oof_`` columns :func:`attach_out_of_fold` adds."""
    return [c for c in model.out_of_fold.columns if c.startswith("oof_")]


def attach_out_of_fold(predictions: pd.DataFrame, model: TrainedModel) -> pd.DataFrame:
    """Add the model's nested out-of-fold prediction columns (``oof_*``) to its training compounds.

    Rows of compounds the model was not trained on get NaN (``""`` for
    ``oof_model_kind``). A compound measured several times gets the mean of its
    rows' numeric out-of-fold values.
    """
    oof = model.out_of_fold.drop(columns=["smiles"])
    numeric = [c for c in oof.columns if c.startswith("oof_") and c != "oof_model_kind"]
    per_compound = oof.groupby("compound_id", sort=False).agg(
        {**{c: "mean" for c in numeric}, "oof_model_kind": "first"}).reset_index()
    out = predictions.drop(columns=[c for c in per_compound.columns if c != "compound_id"], errors="ignore")
    out = out.merge(per_compound, on="compound_id", how="left")
    out["oof_model_kind"] = out["oof_model_kind"].fillna("")
    return out


def prediction_failures(predictions: pd.DataFrame) -> list[FailureRecord]:
    """Failure records (stage ``predict``) for the rows of a prediction table that carry an error."""
    failed = predictions[predictions["error"].astype(str) != ""]
    return [FailureRecord(stage="predict", reason_code="unparsable_smiles", message=row.error,
                          compound_id=str(row.compound_id)) for row in failed.itertuples()]
