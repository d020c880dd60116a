"""Settings of the activity-model stage (features, candidate models, uncertainty, domain)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from moltwin.settings_base import StrictModel

ModelKind = Literal["random_forest", "extra_trees", "gradient_boosting", "knn", "mean_baseline"]
FeatureKind = Literal["morgan_counts", "descriptors", "both"]


class ModelSettings(StrictModel):
    """How activity models are featurized, chosen, calibrated and bounded.

    Activities are on the p-scale (pIC50, pKi ...), so every "activity" value and
    threshold below is in log10 molar units (``_p`` suffix).
    """

    features: FeatureKind = Field(
        "morgan_counts", description="Input features: Morgan count fingerprint, RDKit descriptors, or both.")
    morgan_radius: int = Field(2, ge=1, le=4, description="Morgan (ECFP-like) radius in bonds.")
    morgan_n_bits: int = Field(2048, ge=64, le=16384, description="Folded fingerprint length.")
    model_kinds: list[ModelKind] = Field(
        default_factory=lambda: ["random_forest", "extra_trees", "gradient_boosting", "knn"],
        min_length=1,
        description="Candidate model kinds; the one with the lowest cross-validated RMSE is kept.")
    n_estimators: int = Field(200, ge=10, le=5000, description="Trees per forest / boosting stages.")
    n_bootstrap_members: int = Field(
        5, ge=2, le=50, description="Bootstrap members of the gradient-boosting ensemble (its spread).")
    knn_neighbors: int = Field(5, ge=1, le=50, description="Neighbours of the kNN model.")
    cv_folds: int = Field(5, ge=2, le=20, description="Folds for model choice and conformal calibration.")
    censored_noise_p: float = Field(
        0.5, gt=0.0, le=3.0,
        description="Standard deviation (log units) of a censored compound's true activity around the "
                    "model prediction, used to impute censored (<, >) values; ~ a typical model RMSE.")
    seed: int = Field(0, description="Seed for folds, bootstraps and tree ensembles.")
    n_jobs: int = Field(1, ge=-1, description="Worker processes for forest fitting (-1: all cores).")
    interval_levels: list[float] = Field(
        default_factory=lambda: [0.8, 0.9], min_length=1,
        description="Central prediction-interval coverage levels (fractions), e.g. 0.8 -> lower_80/upper_80.")
    ad_min_similarity: float = Field(
        0.35, ge=0.0, le=1.0,
        description="In domain when the max Tanimoto similarity (Morgan bits) to the training set is at least this.")
    ad_k_neighbors: int = Field(5, ge=1, le=50, description="k for the mean k-NN Tanimoto distance.")
    min_training_compounds: int = Field(
        8, ge=3, description="Fewest usable measurements a model is trained on.")

    @field_validator("interval_levels")
    @classmethod
    def _levels_are_fractions(cls, levels: list[float]) -> list[float]:
        for level in levels:
            if not 0.0 < level < 1.0:
                raise ValueError(f"interval level {level} must be a fraction in (0, 1), e.g. 0.9")
            if abs(level * 100 - round(level * 100)) > 1e-9:
                raise ValueError(f"interval level {level} must be a whole percentage (column names use it)")
        return sorted(set(levels))

    @field_validator("model_kinds")
    @classmethod
    def _kinds_unique(cls, kinds: list[str]) -> list[str]:
        return list(dict.fromkeys(kinds))


def level_tag(level: float) -> str:
    """Column suffix for an interval level: 0.8 -> ``"80"``."""
    return str(int(round(level * 100)))
