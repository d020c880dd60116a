"""Free-Wilson baseline: R-group decomposition on a known core, ridge on R-group indicators."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem.models import ModelSettings, evaluate_models
from chem.models.example_series import load_freewilson_series
from chem.models.free_wilson import FreeWilsonRidge, core_site_count, decompose_rgroups
from moltwin.errors import ModelError

DATA = Path(__file__).resolve().parents[2] / "data"
# The shipped CHEMBL2321810 scaffold with its nitrile position opened as a fourth site.
CORE = "O=S(=O)([*:1])c1cc([*:2])c(O[*:3])c([*:4])c1"


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                  DATA / "chembl_freewilson/CHEMBL2321810_act.csv")


def test_decomposition_gives_one_group_per_site_and_flags_off_core_molecules(series):
    smiles = series["smiles"].head(60).tolist() + ["CCO", "not a smiles"]
    groups = decompose_rgroups(smiles, CORE)
    assert list(groups.columns) == ["R1", "R2", "R3", "R4", "matched"]
    assert groups["matched"].iloc[:60].all() and not groups["matched"].iloc[60:].any()
    # Sites 2 and 4 are symmetric: RDKit puts the one substituent (the nitrile here) at R2 for all
    # molecules and drops R4, which is hydrogen throughout (an empty cell).
    assert groups.loc[0, "R1"] == "c1csc(N[*:1])c1" and groups.loc[0, "R2"] == "N#C[*:2]"
    assert (groups["R4"] == "").all()
    assert (groups.iloc[60:, :4] == "").all().all()
    with pytest.raises(ModelError, match="numbered attachment sites"):
        core_site_count("c1ccccc1")


def test_ridge_recovers_additive_r_group_contributions(series):
    groups = decompose_rgroups(series["smiles"].head(300).tolist(), CORE)
    rng = np.random.default_rng(0)
    effect = {(site, value): rng.normal(0, 1) for site in ("R1", "R2", "R3", "R4") for value in groups[site].unique()}
    y = 6.0 + np.array([sum(effect[(site, row[site])] for site in ("R1", "R2", "R3", "R4"))
                        for _, row in groups.iterrows()])
    model = FreeWilsonRidge().fit(groups.iloc[:250], y[:250])
    prediction, spread = model.predict_with_spread(groups.iloc[250:])
    seen = spread == 1.0  # every substituent of these test compounds was in training
    assert seen.sum() >= 5
    assert np.corrcoef(prediction[seen], y[250:][seen])[0, 1] > 0.9
    assert (spread[~seen] > 1).all()  # an unseen substituent widens the normalised interval


def test_evaluate_reports_free_wilson_beside_the_other_kinds(series):
    subset = series.sample(250, random_state=0)
    report = evaluate_models(subset, "random", ModelSettings(model_kinds=["knn"], cv_folds=3, cv_repeats=1),
                             core_smiles=CORE)
    assert report["model_kind"].tolist() == ["knn", "nearest_neighbor", "mean_baseline", "free_wilson"]
    rows = report.set_index("model_kind")
    assert rows.loc["free_wilson", "fraction_core_matched"] > 0.95
    assert rows.loc["free_wilson", "rmse"] < rows.loc["mean_baseline", "rmse"]
    assert 0.5 <= rows.loc["free_wilson", "coverage_80"] <= 1.0
