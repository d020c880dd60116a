"""Free-Wilson baseline: activity as a sum of R-group contributions around a known core (ridge).

When a series has a known core with numbered attachment sites (``[*:1]``, ``[*:2]``
...), every member decomposes into one R group per site (RDKit
``RGroupDecompose``). The Free-Wilson model (Free & Wilson, J. Med. Chem. 1964)
predicts ``p_activity = intercept + sum over sites of the contribution of the R
group at that site``: one indicator column per (site, R group) seen in training,
fitted here by ridge regression with the penalty chosen by efficient
leave-one-out (scikit-learn ``RidgeCV``), which keeps rare groups close to zero
instead of fitting them exactly.

It is a baseline for the fingerprint models, reported beside them when the user
names a core (``moltwin models evaluate --core``, ``bench/models.py``); it is never
chosen as *the* model. A compound with an R group never seen in training gets no
contribution for that site (the ridge mean), and one that does not match the core
gets the training mean. Its spread, used to normalise the conformal scores, is
``1 + number of sites whose group is unseen`` (``1 + n_sites`` off-core): the
model knows least where it has not seen the substituent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem import rdRGroupDecomposition
from sklearn.linear_model import RidgeCV

from chem.models.settings import ModelSettings
from moltwin.errors import ModelError

_ALPHAS = np.logspace(-2, 3, 21)


def core_site_count(core_smiles: str) -> int:
    """Numbered attachment sites of a core SMILES (``[*:n]``); raises when there are none."""
    core = Chem.MolFromSmiles(core_smiles)
    if core is None:
        raise ModelError(f"core {core_smiles!r} is not a valid SMILES")
    sites = {a.GetAtomMapNum() for a in core.GetAtoms() if a.GetAtomicNum() == 0 and a.GetAtomMapNum()}
    if not sites:
        raise ModelError(f"core {core_smiles!r} has no numbered attachment sites like [*:1]")
    return len(sites)


def decompose_rgroups(smiles: list[str], core_smiles: str) -> pd.DataFrame:
    """One row per input molecule: its R group per site (``R1``, ``R2`` ...) and ``matched``.

    Unparsable molecules and molecules that do not contain the core get
    ``matched=False`` and empty R-group cells.
    """
    n_sites = core_site_count(core_smiles)
    core = Chem.MolFromSmiles(core_smiles)
    columns = [f"R{i + 1}" for i in range(n_sites)]
    out = pd.DataFrame("", index=range(len(smiles)), columns=columns)
    out["matched"] = False
    mols = [Chem.MolFromSmiles(s) if s else None for s in smiles]
    parsed = [i for i, m in enumerate(mols) if m is not None]
    if not parsed:
        return out
    RDLogger.DisableLog("rdApp.*")  # "no core matches" per molecule: counted as matched=False instead
    try:
        rows, unmatched = rdRGroupDecomposition.RGroupDecompose([core], [mols[i] for i in parsed],
                                                                asSmiles=True, asRows=True)
    finally:
        RDLogger.EnableLog("rdApp.*")
    skipped = set(unmatched)
    matched_rows = [i for k, i in enumerate(parsed) if k not in skipped]
    for i, row in zip(matched_rows, rows):
        for column in columns:
            out.at[i, column] = row.get(column, "")
        out.at[i, "matched"] = True
    return out


class FreeWilsonRidge:
    """Ridge regression on (site, R group) indicators; spread grows with the unseen groups.

    Works on R-group tables from :func:`decompose_rgroups` (decompose a series once,
    then fit and predict on row subsets).
    """

    def _design(self, groups: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        X = np.zeros((len(groups), len(self.columns_)))
        unseen = np.zeros(len(groups))
        for site in self.sites_:
            for row, value in enumerate(groups[site].to_numpy()):
                column = self.columns_.get((site, value))
                if column is None:
                    unseen[row] += 1
                else:
                    X[row, column] = 1.0
        return X, unseen

    def fit(self, groups: pd.DataFrame, y: np.ndarray) -> "FreeWilsonRidge":
        y = np.asarray(y, float)
        matched = groups["matched"].to_numpy(bool)
        self.mean_ = float(y.mean())
        self.sites_ = [c for c in groups.columns if c != "matched"]
        self.columns_: dict[tuple[str, str], int] = {}
        for site in self.sites_:
            for value in groups.loc[matched, site].unique():
                self.columns_[(site, value)] = len(self.columns_)
        self.ridge_ = (RidgeCV(alphas=_ALPHAS).fit(self._design(groups[matched])[0], y[matched])
                       if matched.sum() >= 3 else None)
        return self

    def predict_with_spread(self, groups: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Prediction and spread (1 + unseen sites; 1 + all sites off the core)."""
        matched = groups["matched"].to_numpy(bool)
        prediction = np.full(len(groups), self.mean_)
        spread = np.full(len(groups), 1.0 + len(self.sites_))
        if self.ridge_ is not None and matched.any():
            X, unseen = self._design(groups[matched])
            prediction[matched] = self.ridge_.predict(X)
            spread[matched] = 1.0 + unseen
        return prediction, spread


def free_wilson_predictions(train: pd.DataFrame, test: pd.DataFrame, core_smiles: str,
                            settings: ModelSettings) -> pd.DataFrame:
    """Fit the Free-Wilson baseline on ``train`` and predict ``test`` with conformal intervals.

    Intervals: normalized split-conformal on out-of-fold residuals of a
    ``settings.cv_folds`` cross-validation of the training rows (same grouping as
    the other kinds), no wider than the mean baseline's. Only exact (``=``/``~``)
    training rows are used: a Free-Wilson baseline has no censored likelihood.
    Training and test molecules are decomposed once, together.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`chem.models.predict.predict_activity` that
        :func:`chem.models.evaluate.score_predictions` reads, plus ``core_matched``.
    """
    from chem.models.censored import qualifier_directions
    from chem.models.conformal import ONE_SIGMA_LEVEL, NormalizedConformal
    from chem.models.domain import domain_scores
    from chem.models.features import featurize_smiles
    from chem.models.nested_cv import cv_groups, group_folds
    from chem.models.settings import level_tag

    qualifiers = train["qualifier"] if "qualifier" in train.columns else pd.Series(["="] * len(train))
    y = pd.to_numeric(train["p_activity"], errors="coerce").to_numpy(float)
    keep = (qualifier_directions(qualifiers.reset_index(drop=True)) == 0) & np.isfinite(y)
    smiles, y = [s for s, k in zip(train["smiles"], keep) if k], y[keep]
    test_smiles = test["smiles"].tolist()
    groups = decompose_rgroups(smiles + test_smiles, core_smiles)
    train_groups, test_groups = groups.iloc[:len(smiles)], groups.iloc[len(smiles):]
    folds = group_folds(cv_groups(smiles, settings.cv_folds, settings.cv_grouping), settings.cv_folds,
                        settings.seed)
    residuals, sigmas, baseline = np.zeros(len(y)), np.zeros(len(y)), np.zeros(len(y))
    for fold in np.unique(folds):
        held = folds == fold
        prediction, spread = FreeWilsonRidge().fit(train_groups[~held], y[~held]).predict_with_spread(
            train_groups[held])
        residuals[held], sigmas[held] = y[held] - prediction, spread
        baseline[held] = y[held] - y[~held].mean()
    conformal = NormalizedConformal(residuals, sigmas, np.zeros(len(y), int), baseline)
    prediction, spread = FreeWilsonRidge().fit(train_groups, y).predict_with_spread(test_groups)
    matched = test_groups["matched"].to_numpy(bool)
    out = pd.DataFrame({"compound_id": test["compound_id"].astype(str).to_numpy(), "pred_p_activity": prediction})
    zeros = np.zeros(len(out), int)
    lower, upper = conformal.bounds(prediction, spread, zeros, ONE_SIGMA_LEVEL)
    out["pred_std"] = (upper - lower) / 2
    for level in settings.interval_levels:
        out[f"lower_{level_tag(level)}"], out[f"upper_{level_tag(level)}"] = conformal.bounds(
            prediction, spread, zeros, level)
    train_bits = featurize_smiles(smiles, settings).bits
    batch = featurize_smiles(test_smiles, settings)
    similarity = np.zeros(len(out))
    similarity[batch.ok] = domain_scores(batch.bits, train_bits, settings.ad_k_neighbors)[0]
    out["max_train_similarity"] = similarity
    out["in_domain"] = matched & (spread <= 1.0)  # on the core, every substituent seen in training
    out["core_matched"] = matched
    return out
