"""The fitted activity model record that training returns and prediction consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator

from chem.models.features import unpack_bits
from chem.models.settings import ModelSettings

# Bumped when the stored layout of TrainedModel changes (registry refuses other versions).
MODEL_FORMAT_VERSION = 1


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
    calibration_scores
        Normalized nonconformity scores ``|y - y_hat| / sigma`` from out-of-fold predictions.
    sigma_floor
        Constant added to every raw spread before normalization.
    metadata
        JSON-safe provenance: ids, hashes, timestamps, counts, CV metrics per kind, hyper-parameters.
    """

    model_id: str
    kind: str
    estimator: BaseEstimator
    settings: ModelSettings
    train_bits_packed: np.ndarray
    train_smiles: list[str]
    calibration_scores: np.ndarray
    sigma_floor: float
    metadata: dict = field(default_factory=dict)
    format_version: int = MODEL_FORMAT_VERSION

    @property
    def train_bits(self) -> np.ndarray:
        """Unpacked boolean training fingerprints, shape (n_train, morgan_n_bits)."""
        return unpack_bits(self.train_bits_packed, self.settings.morgan_n_bits)
