"""The small-data path: the demo trains on the 16 Tyk2 ligands with experimental binding free energies."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem.models import ModelSettings, attach_out_of_fold, predict_activity, train_activity_model
from chem.models.example_series import load_freewilson_series, load_tyk2_ligands
from chem.models.gaussian_process import TanimotoGaussianProcess, tanimoto_kernel_matrix
from chem.models.features import featurize_smiles
from ranking.report_plots import plot_predicted_vs_measured

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def ligands():
    return load_tyk2_ligands(DATA / "tyk2/ligands.sdf")


def test_tyk2_ligands_convert_free_energy_to_p_activity(ligands):
    assert len(ligands) == 16 and ligands["compound_id"].is_unique
    ejm_31 = ligands.set_index("compound_id").loc["ejm_31"]
    assert ejm_31["p_activity"] == pytest.approx(9.54 / 1.3642, abs=1e-6)
    assert ligands["smiles"].str.contains("Cl").all()


@pytest.fixture(scope="module")
def model(ligands):
    return train_activity_model(ligands, ModelSettings(n_estimators=50, cv_repeats=3))


def test_tyk2_model_trains_and_predicts_its_series(ligands, model):
    assert model.metadata["n_train"] == 16 and model.metadata["cv_folds_used"] == 5
    p = predict_activity(model, ligands)
    assert np.isfinite(p[["pred_p_activity", "lower_90", "upper_90"]].to_numpy()).all()
    assert p["in_domain"].all()
    assert (p["upper_90"] - p["lower_90"]).min() > 0
    assert np.corrcoef(p["pred_p_activity"], ligands["p_activity"])[0, 1] > 0.5


def test_measured_compounds_keep_out_of_fold_predictions(ligands, model):
    candidates = ligands[["compound_id", "smiles"]].head(2).assign(compound_id=["new_1", "new_2"])
    table = ligands[["compound_id", "smiles"]].iloc[::-1]
    preds = attach_out_of_fold(predict_activity(model, pd.concat([candidates, table])), model)
    measured = preds[preds["compound_id"].isin(ligands["compound_id"])]
    assert measured["oof_pred_p_activity"].notna().all() and preds.head(2)["oof_pred_p_activity"].isna().all()
    assert set(measured["oof_model_kind"]) <= set(model.metadata["candidate_kinds"])
    assert (preds.head(2)["oof_model_kind"] == "").all()
    # Out-of-fold is not the fit to the training data: it is further from the measurements.
    y = ligands.set_index("compound_id")["p_activity"].reindex(measured["compound_id"]).to_numpy()
    oof_rmse = np.sqrt(np.mean((measured["oof_pred_p_activity"] - y) ** 2))
    fit_rmse = np.sqrt(np.mean((measured["pred_p_activity"] - y) ** 2))
    assert oof_rmse > fit_rmse
    stored = model.out_of_fold["oof_pred_p_activity"].to_numpy() - ligands["p_activity"].to_numpy()
    assert oof_rmse == pytest.approx(np.sqrt(np.mean(stored ** 2)), rel=1e-9)
    lo, hi = measured["oof_lower_80"].to_numpy(), measured["oof_upper_80"].to_numpy()
    assert (lo < measured["oof_pred_p_activity"]).all() and (measured["oof_pred_p_activity"] < hi).all()
    # The report's plot draws these, says so, and refuses to draw in-sample predictions.
    plotted = measured.assign(measured_p_activity=y, activity_qualifier="=")
    svg = plot_predicted_vs_measured(plotted)
    assert "Out-of-fold RMSE" in svg and f"{oof_rmse:.2f}" in svg
    assert plot_predicted_vs_measured(plotted.drop(columns=[c for c in plotted if c.startswith("oof_")])) is None


def test_tyk2_uncertainty_stays_within_the_series_spread(ligands, model):
    preds = predict_activity(model, ligands)
    assert preds["pred_std"].max() <= 1.5 * ligands["p_activity"].std(ddof=0)
    assert model.metadata["nested_cv_metrics"]["n_repeats"] == 3
    assert set(model.metadata["cv_metrics"]) >= {"nearest_neighbor", "mean_baseline"}


def test_enantiomers_get_different_fingerprints_and_the_gp_fits_by_marginal_likelihood(ligands):
    settings = ModelSettings()
    pair = featurize_smiles(["C[C@H](N)c1ccccc1", "C[C@@H](N)c1ccccc1"], settings).X
    assert (pair[0] != pair[1]).any()
    X = featurize_smiles(ligands["smiles"].tolist(), settings).X
    y = ligands["p_activity"].to_numpy()
    gp = TanimotoGaussianProcess().fit(X, y)
    fitted = gp.get_fitted_params()

    def log_ml(amplitude: float, noise: float) -> float:  # direct Cholesky evaluation, activity units
        K = amplitude * tanimoto_kernel_matrix(X, X) + noise * np.eye(len(y))
        np.fill_diagonal(K, amplitude + noise)
        L = np.linalg.cholesky(K)
        alpha = np.linalg.solve(L.T, np.linalg.solve(L, y - y.mean()))
        return float(-0.5 * (y - y.mean()) @ alpha - np.log(np.diag(L)).sum() - len(y) / 2 * np.log(2 * np.pi))

    best = log_ml(fitted["amplitude"], fitted["noise"])
    for factor in (0.5, 2.0):  # the optimum beats its neighbours
        assert best > log_ml(fitted["amplitude"] * factor, fitted["noise"])
        assert best > log_ml(fitted["amplitude"], fitted["noise"] * factor)
    mean, std = gp.predict_with_spread(X)
    assert (std >= np.sqrt(fitted["noise"]) - 1e-9).all()  # never collapses on training compounds


def test_compounds_far_from_the_data_get_wide_intervals_capped_at_the_mean_baseline(ligands, model):
    other_target = load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                          DATA / "chembl_freewilson/CHEMBL2321810_act.csv").head(300)
    far = predict_activity(model, other_target[["compound_id", "smiles"]])
    own = predict_activity(model, ligands)
    assert not far["in_domain"].any()
    assert far["pred_std"].max() <= 1.5 * ligands["p_activity"].std(ddof=0)
    cap = model.metadata["interval_cap_half_width_p"]  # the mean baseline's conformal half-widths
    assert far["pred_std"].max() <= cap["68"] + 1e-9
    assert ((far["upper_90"] - far["lower_90"]) / 2).max() <= cap["90"] + 1e-9
    assert far["pred_std"].median() > own["pred_std"].median()  # widening away from the data


def test_tiny_series_grow_fewer_trees():
    from chem.models.estimators import forest_size

    assert forest_size(100, 13) == 30 and forest_size(100, 40) == 80 and forest_size(100, 800) == 100
    assert forest_size(20, 13) == 20  # never more than configured
