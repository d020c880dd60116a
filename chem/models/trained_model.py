"""The fitted activity model record that training returns and prediction consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from chem.models.conformal import NormalizedConformal
from chem.models.features import unpack_bits
from chem.models.settings import ModelSettings

# Bumped when the stored layout of TrainedModel changes (registry refuses other versions).
MODEL_FORMAT_VERSION = 3


@dataclass(slots=True)
class TrainedModel:
    """An activity model fitted on one series, with what it needs to state its uncertainty.

    Attributes
    ----------
    model_id
        Deterministic id from the training-data hash and the settings hash.
    kind
        Chosen model kind (``random_forest``, ``extra_trees``, ``gradient_boosting``, ``knn``, ``mean_baseline``).
    estimator
        Fitted scikit-learn compatible estimator (no RDKit objects inside).
    settings
        Settings used for features, model choice, intervals and the applicability domain.
    train_bits_packed
        Training-set binary Morgan fingerprints, packed with ``numpy.packbits`` (for the domain check).
    train_smiles
        Canonical SMILES of the training rows, in training order.
    calibration_residuals, calibration_sigmas, calibration_bins
        Nested out-of-fold residuals ``y - y_hat`` of the exact measurements (all CV repeats),
        their ``spread + floor`` and their applicability-domain (Mondrian) bin.
    domain_bin_edges
        Max-train-similarity edges of the Mondrian bins (``[]``: one calibration for all).
    ad_similarity_cutoff
        A query is in domain when its max Tanimoto similarity to the training set reaches this.
    sigma_floor
        Constant added to every raw spread before normalization.
    out_of_fold
        Per training row: ``compound_id, smiles, oof_pred_p_activity, oof_pred_std,
        oof_lower_<pct>, oof_upper_<pct>, oof_max_train_similarity, oof_model_kind``
        (nested CV, first repeat).
    metadata
        JSON-safe provenance: ids, hashes, timestamps, counts, CV metrics per kind, hyper-parameters.
    baseline_residuals
        Out-of-fold residuals of the mean baseline (exact measurements, all repeats): no interval
        is wider than the mean baseline's at the same level (:mod:`chem.models.conformal`).
    """

    model_id: str
    kind: str
    estimator: BaseEstimator
    settings: ModelSettings
    train_bits_packed: np.ndarray
    train_smiles: list[str]
    calibration_residuals: np.ndarray
    calibration_sigmas: np.ndarray
    calibration_bins: np.ndarray
    domain_bin_edges: list[float]
    ad_similarity_cutoff: float
    sigma_floor: float
    out_of_fold: pd.DataFrame
    metadata: dict = field(default_factory=dict)
    format_version: int = MODEL_FORMAT_VERSION
    baseline_residuals: np.ndarray | None = None

    @property
    def train_bits(self) -> np.ndarray:
        """Unpacked boolean training fingerprints, shape (n_train, morgan_n_bits)."""
        return unpack_bits(self.train_bits_packed, self.settings.morgan_n_bits)

    def conformal(self) -> NormalizedConformal:
        """The conformal calibration rebuilt from the stored residuals (cheap: a sort per bin)."""
        return NormalizedConformal(self.calibration_residuals, self.calibration_sigmas, self.calibration_bins,
                                   self.baseline_residuals)
