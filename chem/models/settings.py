"""Settings of the activity-model stage (features, candidate models, uncertainty, domain)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from moltwin.settings_base import StrictModel

ModelKind = Literal["gaussian_process", "random_forest", "extra_trees", "gradient_boosting", "knn",
                    "nearest_neighbor", "mean_baseline"]

# Reported beside every model, never chosen: a model that only echoes its nearest
# training value, or the series mean, shows up against these.
BASELINE_KINDS: tuple[str, ...] = ("nearest_neighbor", "mean_baseline")
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
    morgan_chirality: bool = Field(
        True, description="Chirality-aware Morgan environments (enantiomers get different fingerprints).")
    model_kinds: list[ModelKind] = Field(
        default_factory=lambda: ["gaussian_process", "random_forest", "knn"],
        min_length=1,
        description="Candidate model kinds; the one with the lowest cross-validated RMSE (mean over "
                    "repeats) is kept. The same choice is redone inside every outer fold of a nested "
                    "cross-validation, whose out-of-fold residuals calibrate the intervals.")
    n_estimators: int = Field(100, ge=10, le=5000, description="Trees per forest / boosting stages.")
    forest_max_features: float = Field(
        0.1, gt=0.0, le=1.0,
        description="Share of features tried per forest split; 0.1 of 2,048 bits keeps 4,000-compound "
                    "forests to seconds (0.33 was 3x slower for no gain on the ChEMBL series).")
    gp_max_compounds: int = Field(
        2500, ge=10, description="Exact Gaussian process only up to this many training rows (O(n^3)).")
    inner_cv_folds: int = Field(3, ge=2, le=10, description="Folds of the model choice inside each outer fold.")
    cv_repeats: int = Field(
        10, ge=1, le=50, description="Repeated cross-validation runs for series below repeat_below_compounds.")
    repeat_below_compounds: int = Field(
        1000, ge=0, description="Series with fewer rows than this get cv_repeats repeated CV runs; larger "
                                "series one run.")
    mondrian_min_bin: int = Field(
        20, ge=5, description="Fewest calibration compounds per applicability-domain bin for Mondrian "
                              "(per-bin) intervals; otherwise one normalized conformal calibration.")
    n_bootstrap_members: int = Field(
        5, ge=2, le=50, description="Bootstrap members of the gradient-boosting ensemble (its spread).")
    knn_neighbors: int = Field(5, ge=1, le=50, description="Neighbours of the kNN model.")
    cv_folds: int = Field(5, ge=2, le=20, description="Folds for model choice and conformal calibration.")
    cv_grouping: Literal["scaffold", "compound"] = Field(
        "scaffold",
        description="Cross-validation groups: 'scaffold' holds out whole Bemis-Murcko scaffolds (falls back "
                    "to 'compound' when the series has too few scaffolds for balanced folds), so out-of-fold "
                    "residuals, hence intervals, reflect scaffold-novel compounds; 'compound' holds out "
                    "compounds at random (identical SMILES together).")
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
        description="Floor of the in-domain cut: a query is in domain when its max Tanimoto similarity "
                    "(Morgan bits) to the training set is at least max(this, the ad_quantile quantile of "
                    "the training compounds' similarity to their nearest other training compound).")
    ad_quantile: float = Field(
        0.1, ge=0.0, lt=1.0,
        description="Queries less similar to the training set than this share of the training compounds "
                    "are to their nearest other training compound are out of domain.")
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
