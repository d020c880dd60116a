"""Splits and the model benchmark (random, scaffold, time) on the Free-Wilson series."""

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem.models import ModelSettings, evaluate_models, split_rows
from chem.models.example_series import load_freewilson_series
from chem.models.splits import murcko_scaffold
from moltwin import progress
from moltwin.errors import ModelError

DATA = Path(__file__).resolve().parents[2] / "data"
CHEAP = ModelSettings(model_kinds=["knn"], cv_folds=3, cv_repeats=1)


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    table = load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                   DATA / "chembl_freewilson/CHEMBL2321810_act.csv")
    # ChEMBL ids grew over time; use them as a registration order for the time split.
    return table.assign(registered=pd.Timestamp("2012-01-01")
                        + pd.to_timedelta(table["compound_id"].astype(int).rank(method="first"), unit="D"))


def test_scaffold_split_holds_out_whole_scaffolds(series):
    train, test = split_rows(series, "scaffold", test_fraction=0.2, seed=0)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(series)
    scaffolds = series["smiles"].map(murcko_scaffold)
    assert not set(scaffolds.iloc[train]) & set(scaffolds.iloc[test])
    assert 0.1 <= len(test) / len(series) <= 0.21


def test_random_split_is_seeded(series):
    a, b = split_rows(series, "random", seed=1), split_rows(series, "random", seed=1)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], split_rows(series, "random", seed=2)[1])


def test_time_split_tests_on_the_latest_rows(series):
    train, test = split_rows(series, "time", date_col="registered")
    assert series["registered"].iloc[test].min() > series["registered"].iloc[train].max()
    with pytest.raises(ModelError, match="date"):
        split_rows(series.assign(registered="someday"), "time", date_col="registered")
    with pytest.raises(ModelError, match="date column"):
        split_rows(series, "time")


@pytest.mark.parametrize("split", ["random", "scaffold", "time"])
def test_evaluate_reports_metrics_against_baseline(series, split):
    subset = series.sample(250, random_state=0)
    report = evaluate_models(subset, split, CHEAP, date_col="registered")
    assert report["model_kind"].tolist() == ["knn", "nearest_neighbor", "mean_baseline"]
    expected = {"rmse", "mae", "r2", "spearman", "coverage_80", "coverage_90", "roc_auc", "pr_auc",
                "n_train", "n_test"}
    assert expected <= set(report.columns)
    knn, baseline = report.set_index("model_kind").loc["knn"], report.set_index("model_kind").loc["mean_baseline"]
    assert knn["n_train"] + knn["n_test"] == 250
    assert knn["rmse"] < baseline["rmse"]
    if split != "time":  # later ChEMBL ids explore new substituents: ranking them is much harder
        assert knn["spearman"] > 0.3
    assert np.isnan(baseline["spearman"]) and 0 <= knn["coverage_90"] <= 1


def test_evaluate_reports_selected_procedure_and_baselines_with_progress(series):
    stream = io.StringIO()
    settings = ModelSettings(model_kinds=["knn", "random_forest"], n_estimators=20, cv_folds=3, cv_repeats=1)
    with progress.to_stderr("moltwin models evaluate", stream=stream):
        report = evaluate_models(series.sample(150, random_state=1), "scaffold", settings)
    lines = stream.getvalue().splitlines()
    assert report["model_kind"].tolist() == ["knn", "random_forest", "selected", "nearest_neighbor",
                                             "mean_baseline"]
    rows = report.set_index("model_kind")
    assert rows.loc["selected", "chosen_kind"] in {"knn", "random_forest"}
    # The selected model is the chosen kind refitted: same point predictions, so the same RMSE.
    assert rows.loc["selected", "rmse"] == pytest.approx(rows.loc[rows.loc["selected", "chosen_kind"], "rmse"])
    assert {"coverage_80_sim_tercile_1", "coverage_80_sim_tercile_3", "rmse_sim_tercile_1"} <= set(report.columns)
    assert any(re.search(r"\] evaluate 3/5 selected: RMSE \d", line) for line in lines), lines
    assert any("cross-validation" in line and "outer fold" in line for line in lines), lines


@pytest.mark.slow  # two Chemprop epochs on CPU
def test_evaluate_adds_a_chemprop_row_outside_the_selection(series):
    pytest.importorskip("chemprop")
    report = evaluate_models(series.sample(150, random_state=2), "scaffold", CHEAP, chemprop_epochs=2)
    rows = report.set_index("model_kind")
    assert report["model_kind"].tolist()[-1] == "chemprop" and "selected" not in rows.index
    assert rows.loc["chemprop", "epochs"] == 2 and rows.loc["chemprop", "seconds_per_epoch"] > 0
    assert np.isfinite(rows.loc["chemprop", "rmse"]) and 0 <= rows.loc["chemprop", "coverage_90"] <= 1
