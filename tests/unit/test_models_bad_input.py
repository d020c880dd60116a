"""Bad activity data stops training with a message that says what is wrong and how much is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem.models import (ModelSettings, evaluate_models, predict_activity, prediction_failures,
                         train_activity_model)
from chem.models.example_series import load_freewilson_series
from moltwin.errors import ModelError

DATA = Path(__file__).resolve().parents[2] / "data"
CHEAP = ModelSettings(model_kinds=["knn"], cv_folds=3, cv_repeats=1)


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                  DATA / "chembl_freewilson/CHEMBL2321810_act.csv")


def test_all_missing_activities_say_how_many_are_needed(series):
    blank = series.head(20).assign(p_activity=np.nan)
    with pytest.raises(ModelError, match=r"0 usable, at least 8 needed \(20 rows without a numeric"):
        train_activity_model(blank, CHEAP)
    with pytest.raises(ModelError, match="0 usable, at least 8 needed"):
        train_activity_model(series.head(0), CHEAP)


def test_the_needed_count_follows_the_setting(series):
    with pytest.raises(ModelError, match="10 usable, at least 12 needed"):
        train_activity_model(series.head(10), CHEAP.model_copy(update={"min_training_compounds": 12}))


def test_infinite_and_text_activities_are_dropped_and_counted(series):
    messy = series.head(12).astype({"p_activity": object})
    messy.loc[messy.index[0], "p_activity"] = np.inf
    messy.loc[messy.index[1], "p_activity"] = "7,5"  # comma decimals are the CSV reader's job
    messy.loc[messy.index[2], "smiles"] = None
    model = train_activity_model(messy, CHEAP)
    assert model.metadata["n_dropped_missing_activity"] == 2
    assert model.metadata["n_dropped_unparsable"] == 1 and model.metadata["n_train"] == 9


def test_mostly_censored_data_cannot_calibrate_intervals(series):
    censored = series.head(20).assign(qualifier="<")
    censored.loc[censored.index[:2], "qualifier"] = "="
    with pytest.raises(ModelError, match="only 2 exact"):
        train_activity_model(censored, CHEAP)


def test_unparsable_and_missing_structures_are_failed_prediction_rows(series):
    model = train_activity_model(series.head(30), CHEAP)
    query = pd.DataFrame({"compound_id": ["ok", "bad", "none", "nan"],
                          "smiles": [series["smiles"].iloc[40], "C1CC(N", None, np.nan]})
    p = predict_activity(model, query)
    assert np.isfinite(p.loc[0, "pred_p_activity"]) and p.loc[1:, "pred_p_activity"].isna().all()
    assert not p.loc[1:, "in_domain"].any()
    assert [f.compound_id for f in prediction_failures(p)] == ["bad", "none", "nan"]
    with pytest.raises(ModelError, match="'smiles' column"):
        predict_activity(model, query.rename(columns={"smiles": "SMILES"}))


def test_evaluate_on_too_little_data_explains_itself(series):
    with pytest.raises(ModelError, match="at least 8 needed"):
        evaluate_models(series.head(9), "random", CHEAP)
    with pytest.raises(ModelError, match="test_fraction"):
        evaluate_models(series.head(40), "random", CHEAP, test_fraction=1.0)
