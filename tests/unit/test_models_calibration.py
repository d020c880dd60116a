"""Interval calibration on scaffold-novel compounds: coverage in every similarity tercile."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem.models import ModelSettings, predict_activity, split_rows, train_activity_model
from chem.models.example_series import load_freewilson_series
from chem.models.nested_cv import cv_groups, group_folds

DATA = Path(__file__).resolve().parents[2] / "data"
GP_ONLY = ModelSettings(model_kinds=["gaussian_process"], cv_repeats=1)


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                  DATA / "chembl_freewilson/CHEMBL2321810_act.csv")


@pytest.fixture(scope="module")
def split(series):
    train_rows, test_rows = split_rows(series, "scaffold", 0.2, seed=0)
    return series.iloc[train_rows], series.iloc[test_rows]


def test_scaffold_groups_make_balanced_folds_and_fall_back_on_few_scaffolds(series):
    groups = cv_groups(series["smiles"].tolist(), 5, "scaffold")
    folds = group_folds(groups, 5, seed=0)
    sizes = np.bincount(folds)
    assert len(sizes) == 5 and sizes.max() - sizes.min() <= 0.1 * len(series)
    for scaffold in np.unique(groups):  # a scaffold never spans two folds
        assert len(np.unique(folds[groups == scaffold])) == 1
    few = ["c1ccccc1C", "c1ccccc1CC", "c1ccncc1C", "c1ccncc1CC", "C1CCCCC1C", "C1CCCCC1CC"]
    assert list(cv_groups(few, 5, "scaffold")) == few  # 3 scaffolds < 2 x 5 folds: one group per compound


def test_intervals_cover_scaffold_novel_compounds_in_every_similarity_tercile(split):
    train, test = split
    model = train_activity_model(train, GP_ONLY)
    p = predict_activity(model, test)
    y = test["p_activity"].to_numpy()
    hit = (y >= p["lower_80"].to_numpy()) & (y <= p["upper_80"].to_numpy())
    similarity = p["max_train_similarity"].to_numpy()
    tercile = np.digitize(similarity, np.quantile(similarity, [1 / 3, 2 / 3]))
    coverage = [hit[tercile == t].mean() for t in range(3)]
    # ~68 compounds per tercile: +/- 0.05 standard error around the nominal 0.80.
    assert all(0.70 <= c <= 0.95 for c in coverage), coverage
    # Random (compound) folds keep close analogues on both sides: their calibration compounds are
    # more similar to their training folds than scaffold-novel queries are, hence too-narrow intervals.
    random_folds = train_activity_model(train, GP_ONLY.model_copy(update={"cv_grouping": "compound"}))
    assert (model.out_of_fold["oof_max_train_similarity"].mean()
            < random_folds.out_of_fold["oof_max_train_similarity"].mean() - 0.02)
    assert (p["upper_80"] - p["lower_80"]).mean() > (
        predict_activity(random_folds, test)["upper_80"] - predict_activity(random_folds, test)["lower_80"]).mean()
