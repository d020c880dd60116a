"""Censored (<, >) activities are used in training, not dropped (Free-Wilson series, weak compounds censored)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem.models import ModelSettings, predict_activity, train_activity_model
from chem.models.censored import censored_residuals, impute_censored_targets, qualifier_directions
from chem.models.example_series import load_freewilson_series
from moltwin.errors import ModelError

DATA = Path(__file__).resolve().parents[2] / "data"
SETTINGS = ModelSettings(model_kinds=["random_forest"], n_estimators=60, cv_folds=3, cv_repeats=1)
# Like an assay whose top concentration is ~3 µM: weaker compounds read "IC50 > 3 µM", i.e. p < 5.5.
BOUND_P = 5.5


@pytest.fixture(scope="module")
def censored_series() -> tuple[pd.DataFrame, pd.DataFrame]:
    series = load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                    DATA / "chembl_freewilson/CHEMBL2321810_act.csv")
    train = series.sample(300, random_state=0)
    weak = train["p_activity"] < BOUND_P
    train = train.assign(p_activity=np.where(weak, BOUND_P, train["p_activity"]),
                         qualifier=np.where(weak, "<", "="))
    heldout_weak = series.drop(train.index).query("p_activity < @BOUND_P")
    return train, heldout_weak


@pytest.fixture(scope="module")
def censored_model(censored_series):
    return train_activity_model(censored_series[0], SETTINGS)


def test_censored_rows_are_kept_and_counted(censored_series, censored_model):
    train, _ = censored_series
    n_censored = int((train["qualifier"] == "<").sum())
    assert n_censored >= 20
    meta = censored_model.metadata
    assert meta["n_train"] == 300 and meta["n_censored"] == n_censored
    assert meta["n_censored_upper"] == n_censored and meta["n_censored_lower"] == 0


def test_censored_compounds_predicted_at_or_below_bound(censored_series, censored_model):
    train, _ = censored_series
    censored = train[train["qualifier"] == "<"]
    p = predict_activity(censored_model, censored)
    assert (p["pred_p_activity"] <= BOUND_P + 1e-9).mean() > 0.5


def test_censored_rows_pull_heldout_weak_compounds_down(censored_series, censored_model):
    train, heldout_weak = censored_series
    dropped = train_activity_model(train[train["qualifier"] == "="], SETTINGS)
    with_censored = predict_activity(censored_model, heldout_weak)["pred_p_activity"].mean()
    without_censored = predict_activity(dropped, heldout_weak)["pred_p_activity"].mean()
    assert with_censored < without_censored - 0.05


def test_qualifier_directions_and_imputation():
    directions = qualifier_directions(pd.Series(["=", "<", "<=", ">", ">=", "~", None, " > "]))
    assert directions.tolist() == [0, -1, -1, 1, 1, 0, 0, 1]
    with pytest.raises(ModelError, match="unknown activity qualifier"):
        qualifier_directions(pd.Series(["=", "<<"]))
    y = np.array([6.0, 5.0, 5.0, 7.0, 7.0])
    d = np.array([0, -1, -1, 1, 1])
    pred = np.array([6.5, 4.0, 6.0, 8.0, 6.0])
    target = impute_censored_targets(y, d, pred, noise_sd=0.5)
    assert target[0] == 6.0  # exact rows untouched
    assert target[1] == pytest.approx(4.0 - 0.5 * 0.05525, abs=1e-4)  # E[Y | Y < 5], mu 4, sd 0.5
    assert target[2] < 5.0 and target[3] > 8.0 and target[4] > 7.0  # always on the allowed side
    far = impute_censored_targets(np.array([5.0]), np.array([-1]), np.array([12.0]), noise_sd=0.5)
    assert np.isfinite(far[0]) and 4.8 < far[0] < 5.0  # stable far on the wrong side
    np.testing.assert_allclose(censored_residuals(y, d, pred), [0.5, 0.0, 1.0, 0.0, -1.0])
