"""Features, similarity, domain scores and conformal arithmetic of chem.models (fast, no training)."""

from pathlib import Path

import numpy as np
import pytest

from chem.models.conformal import NormalizedConformal, domain_bin_edges
from chem.models.domain import domain_scores
from chem.models.example_series import load_freewilson_series
from chem.models.features import featurize_smiles, pack_bits, tanimoto_matrix, unpack_bits
from chem.models.settings import ModelSettings

DATA = Path(__file__).resolve().parents[2] / "data"
TYK2_CORE_AMIDES = ["CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", "CCC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1"]


@pytest.fixture(scope="module")
def series_smiles() -> list[str]:
    table = load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                   DATA / "chembl_freewilson/CHEMBL2321810_act.csv")
    return table["smiles"].tolist()[:60]


def test_freewilson_join_keeps_every_compound():
    table = load_freewilson_series(DATA / "chembl_freewilson/CHEMBL2321810.smi",
                                   DATA / "chembl_freewilson/CHEMBL2321810_act.csv")
    assert len(table) == 1017
    assert list(table.columns) == ["compound_id", "smiles", "p_activity", "qualifier"]
    assert table["p_activity"].between(4, 10).all()


@pytest.mark.parametrize("features, n_cols", [("morgan_counts", 1024), ("descriptors", 16), ("both", 1040)])
def test_featurize_shapes_and_failed_rows(features, n_cols):
    settings = ModelSettings(features=features, morgan_n_bits=1024)
    batch = featurize_smiles([TYK2_CORE_AMIDES[0], "not a smiles", "", TYK2_CORE_AMIDES[1]], settings)
    assert batch.ok.tolist() == [True, False, False, True]
    assert batch.X.shape == (2, n_cols) and batch.bits.shape == (2, 1024)
    assert np.isfinite(batch.X).all()
    assert "unparsable" in batch.errors[1] and batch.errors[2] and batch.errors[0] == ""
    assert batch.canonical_smiles[1] == ""


def test_morgan_counts_count_repeated_environments():
    batch = featurize_smiles(["CCCCCCCC", "CC"], ModelSettings())
    assert batch.X[0].max() > 1  # the repeated CH2 environment is counted, not just set
    assert batch.X[0].sum() > batch.X[1].sum()


def test_tanimoto_self_similarity_and_symmetry(series_smiles):
    bits = featurize_smiles(series_smiles, ModelSettings()).bits
    sim = tanimoto_matrix(bits, bits)
    np.testing.assert_allclose(np.diag(sim), 1.0, rtol=1e-6)
    np.testing.assert_allclose(sim, sim.T, rtol=1e-6)
    assert (sim >= 0).all() and (sim <= 1 + 1e-6).all()


def test_pack_bits_round_trip(series_smiles):
    bits = featurize_smiles(series_smiles, ModelSettings(morgan_n_bits=1000)).bits
    np.testing.assert_array_equal(unpack_bits(pack_bits(bits), 1000), bits)


def test_domain_scores_exclude_self(series_smiles):
    bits = featurize_smiles(series_smiles, ModelSettings()).bits
    with_self, _ = domain_scores(bits, bits, k=3)
    without_self, knn_distance = domain_scores(bits, bits, k=3, exclude_self=True)
    np.testing.assert_allclose(with_self, 1.0, rtol=1e-6)
    assert (without_self < 1.0 + 1e-6).all() and without_self.mean() < 1.0
    assert ((knn_distance >= 0) & (knn_distance <= 1)).all()


def test_conformal_quantile_is_finite_sample_rank():
    residuals = np.arange(1.0, 10.0)  # 9 scores |y - y_hat| / sigma with sigma = 1
    conformal = NormalizedConformal(residuals, np.ones(9), np.zeros(9, int))
    # ceil(10 * 0.75) = 8th smallest, times sigma 0.5. (At 0.8, 10 * 0.8 is 8.000000000000002 in
    # floating point and crepes takes the 9th: conservative by one rank.)
    lower, upper = conformal.bounds(np.array([5.0]), np.array([0.5]), np.zeros(1, int), 0.75)
    assert (lower[0], upper[0]) == pytest.approx((1.0, 9.0))
    lower, upper = conformal.bounds(np.array([5.0]), np.array([1.0]), np.zeros(1, int), 0.95)
    assert (lower[0], upper[0]) == pytest.approx((-4.0, 14.0))  # rank 10 > n: capped at the largest


def test_mondrian_bins_get_their_own_quantile():
    rng = np.random.default_rng(0)
    residuals = np.concatenate([rng.normal(0, 0.3, 200), rng.normal(0, 1.2, 200)])
    bins = np.repeat([1, 0], 200)  # bin 0: far from the training data, larger errors
    conformal = NormalizedConformal(residuals, np.ones(400), bins)
    assert conformal.is_mondrian()
    lower, upper = conformal.bounds(np.zeros(2), np.ones(2), np.array([0, 1]), 0.8)
    width_far, width_near = upper - lower
    assert width_far == pytest.approx(2 * 1.2816 * 1.2, rel=0.2)
    assert width_near == pytest.approx(2 * 1.2816 * 0.3, rel=0.2)
    # Too few compounds for three bins of >= 20: one calibration for all.
    assert domain_bin_edges(rng.uniform(size=59), 59, 20) == []
    assert len(domain_bin_edges(rng.uniform(size=60), 60, 20)) == 2


def test_settings_reject_bad_levels_and_unknown_fields():
    with pytest.raises(ValueError):
        ModelSettings(interval_levels=[1.2])
    with pytest.raises(ValueError):
        ModelSettings(n_trees=10)
    assert ModelSettings(interval_levels=[0.9, 0.8, 0.9]).interval_levels == [0.8, 0.9]
