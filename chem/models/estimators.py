"""Candidate regressors and their per-prediction spread (raw, uncalibrated sigma).

Each kind gives a mean prediction plus a spread that says *where* the model is
unsure; :mod:`chem.models.conformal` later turns the spread into intervals with
a stated coverage. Spreads per kind:

* random_forest / extra_trees: standard deviation over the individual trees.
* gradient_boosting: boosting has no ensemble of its own, so a small bootstrap
  ensemble of boosted models is fitted and its member-to-member spread is used.
* gaussian_process: the posterior predictive standard deviation (latent + noise) of an
  exact GP with a Tanimoto kernel on Morgan count vectors (:mod:`chem.models.gaussian_process`).
* knn: similarity-weighted standard deviation of the neighbours' activities.
* nearest_neighbor (baseline): the nearest training compound's value; constant spread
  (the training standard deviation), since one neighbour has no spread of its own.
* mean_baseline: the training standard deviation (constant), i.e. plain
  (non-normalized) conformal intervals around the mean.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor

from chem.models.gaussian_process import TanimotoGaussianProcess
from chem.models.settings import ModelSettings


class BootstrapBoostingRegressor(BaseEstimator, RegressorMixin):
    """Gradient boosting fitted on ``n_members`` bootstrap resamples; mean and spread over members."""

    def __init__(self, n_members: int = 5, n_estimators: int = 200, seed: int = 0) -> None:
        self.n_members = n_members
        self.n_estimators = n_estimators
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "BootstrapBoostingRegressor":
        rng = np.random.default_rng(self.seed)
        self.members_ = []
        for m in range(self.n_members):
            rows = rng.integers(0, len(y), size=len(y))
            member = GradientBoostingRegressor(
                n_estimators=self.n_estimators, learning_rate=0.05, max_depth=4,
                subsample=0.8, max_features="sqrt", random_state=self.seed + m)
            self.members_.append(member.fit(X[rows], y[rows]))
        return self

    def predict_with_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        preds = np.stack([m.predict(X) for m in self.members_])
        return preds.mean(axis=0), preds.std(axis=0, ddof=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_with_spread(X)[0]


# A forest on n training rows gets min(n_estimators, max(MIN_TREES, TREES_PER_ROW * n)) trees.
MIN_TREES = 30
TREES_PER_ROW = 2


def forest_size(n_estimators: int, n_rows: int) -> int:
    """Trees for a forest on ``n_rows`` rows: fewer on tiny series.

    On a dozen rows the bootstrap samples overlap so much that 30 trees give the same
    mean and tree-to-tree spread as 100 (Tyk2, 16 ligands: nested-CV RMSE within the
    repeat-to-repeat SD), while sklearn's per-tree overhead made forests most of the
    cost of the 10 repeated nested CV runs. From 50 rows up the configured number is used.
    """
    return min(n_estimators, max(MIN_TREES, TREES_PER_ROW * n_rows))


class ForestWithSpread(BaseEstimator, RegressorMixin):
    """Random forest or extra trees on the feature columns that vary in training; spread over trees.

    Fingerprint columns that are constant in the training rows cannot split, yet the
    forest still samples and scans them; dropping them first halves fitting time on
    an 800-compound series (1,190 of 2,048 bits vary) without changing the model.
    Tiny training sets get fewer trees (:func:`forest_size`).
    """

    def __init__(self, extra: bool = False, n_estimators: int = 100, max_features: float = 0.1,
                 min_samples_leaf: int = 1, n_jobs: int = 1, seed: int = 0) -> None:
        self.extra = extra
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ForestWithSpread":
        X = np.asarray(X, dtype=np.float32)
        self.columns_ = np.flatnonzero(X.min(axis=0) < X.max(axis=0))
        if self.columns_.size == 0:
            self.columns_ = np.arange(min(1, X.shape[1]))
        forest = ExtraTreesRegressor if self.extra else RandomForestRegressor
        self.forest_ = forest(n_estimators=forest_size(self.n_estimators, len(y)), max_features=self.max_features,
                              min_samples_leaf=self.min_samples_leaf, n_jobs=self.n_jobs,
                              random_state=self.seed).fit(X[:, self.columns_], y)
        return self

    def predict_with_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float32)[:, self.columns_])
        # The fitted trees' own predict (tree_.predict) skips sklearn's per-call input checks,
        # which cost more than the prediction itself on small batches.
        per_tree = np.stack([tree.tree_.predict(X).reshape(len(X), -1)[:, 0] for tree in self.forest_.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0, ddof=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_with_spread(X)[0]


class NeighbourSpreadKNN(BaseEstimator, RegressorMixin):
    """k-nearest-neighbour regressor with a neighbour-spread uncertainty.

    ``metric="tanimoto"`` uses the continuous Tanimoto similarity
    x.y / (x.x + y.y - x.y), which on count fingerprints rewards shared
    substructures and their multiplicity; ``metric="euclidean"`` works on
    standardized features and weighs neighbours by 1 / (1 + distance).
    ``n_columns`` restricts the similarity to the first columns (the fingerprint
    part of "both" features: standardizing sparse bits next to descriptors
    would let rare bits dominate the distance).
    """

    def __init__(self, k: int = 5, metric: str = "tanimoto", n_columns: int | None = None) -> None:
        self.k = k
        self.metric = metric
        self.n_columns = n_columns

    def fit(self, X: np.ndarray, y: np.ndarray) -> "NeighbourSpreadKNN":
        X = np.asarray(X, dtype=np.float32)[:, :self.n_columns]
        self.center_ = X.mean(axis=0) if self.metric == "euclidean" else np.zeros(X.shape[1], np.float32)
        scale = X.std(axis=0) if self.metric == "euclidean" else np.ones(X.shape[1], np.float32)
        self.scale_ = np.where(scale > 0, scale, 1.0).astype(np.float32)
        self.X_ = (X - self.center_) / self.scale_
        self.y_ = np.asarray(y, dtype=float)
        return self

    def _similarity(self, X: np.ndarray) -> np.ndarray:
        Xq = (np.asarray(X, dtype=np.float32)[:, :self.n_columns] - self.center_) / self.scale_
        dot = Xq @ self.X_.T
        if self.metric == "tanimoto":
            denom = (Xq * Xq).sum(1)[:, None] + (self.X_ * self.X_).sum(1)[None, :] - dot
            return np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        sq = (Xq * Xq).sum(1)[:, None] + (self.X_ * self.X_).sum(1)[None, :] - 2 * dot
        return 1.0 / (1.0 + np.sqrt(np.maximum(sq, 0.0)))

    def predict_with_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = min(self.k, len(self.y_))
        sim = self._similarity(X)
        idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(sim, idx, axis=1).astype(float) + 1e-6  # all-zero similarity -> plain mean
        y_nb = self.y_[idx]
        mean = (w * y_nb).sum(1) / w.sum(1)
        if k == 1:  # a single neighbour has no spread: use the training spread (plain conformal)
            return mean, np.full(len(mean), float(np.std(self.y_)))
        var = (w * (y_nb - mean[:, None]) ** 2).sum(1) / w.sum(1)
        return mean, np.sqrt(var)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_with_spread(X)[0]


class MeanBaselineRegressor(BaseEstimator, RegressorMixin):
    """Predicts the training mean for every molecule; spread is the training standard deviation."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "MeanBaselineRegressor":
        self.mean_ = float(np.mean(y))
        self.std_ = float(np.std(y))
        return self

    def predict_with_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(X)
        return np.full(n, self.mean_), np.full(n, self.std_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_with_spread(X)[0]


def build_estimator(kind: str, settings: ModelSettings, seed: int) -> BaseEstimator:
    """Unfitted regressor of the given kind, configured from the settings."""
    if kind == "gaussian_process":
        n_columns = None if settings.features == "morgan_counts" else settings.morgan_n_bits
        if settings.features == "descriptors":
            raise ValueError("gaussian_process needs Morgan count features (features='morgan_counts' or 'both')")
        return TanimotoGaussianProcess(n_columns=n_columns, seed=seed)
    if kind == "random_forest":
        # A small share of features per split keeps 2,048-bit fingerprints fast (forest_max_features).
        return ForestWithSpread(extra=False, n_estimators=settings.n_estimators,
                                max_features=settings.forest_max_features, min_samples_leaf=1,
                                n_jobs=settings.n_jobs, seed=seed)
    if kind == "extra_trees":
        # min_samples_leaf=2: single-sample leaves made extra trees echo a training value
        # exactly for close analogues (55 of 390 Tyk2 candidates did).
        return ForestWithSpread(extra=True, n_estimators=settings.n_estimators,
                                max_features=settings.forest_max_features, min_samples_leaf=2,
                                n_jobs=settings.n_jobs, seed=seed)
    if kind == "gradient_boosting":
        return BootstrapBoostingRegressor(n_members=settings.n_bootstrap_members,
                                          n_estimators=settings.n_estimators, seed=seed)
    if kind == "knn":
        if settings.features == "descriptors":
            return NeighbourSpreadKNN(k=settings.knn_neighbors, metric="euclidean")
        # Morgan counts come first in the feature matrix (see chem.models.features).
        return NeighbourSpreadKNN(k=settings.knn_neighbors, metric="tanimoto", n_columns=settings.morgan_n_bits)
    if kind == "nearest_neighbor":
        n_columns = None if settings.features == "morgan_counts" else settings.morgan_n_bits
        metric = "euclidean" if settings.features == "descriptors" else "tanimoto"
        return NeighbourSpreadKNN(k=1, metric=metric, n_columns=n_columns)
    if kind == "mean_baseline":
        return MeanBaselineRegressor()
    raise ValueError(f"unknown model kind {kind!r}")


def predict_with_spread(estimator: BaseEstimator, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean prediction and raw spread (same units as the activity) of a fitted estimator."""
    return estimator.predict_with_spread(X)
