"""Features, similarity, domain scores and conformal arithmetic of chem.models (fast, no training)."""

from pathlib import Path

import numpy as np
import pytest

from chem.models.conformal import conformal_quantile, interval_bounds, nonconformity_scores
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
    scores = np.arange(1.0, 10.0)  # 9 scores
    assert conformal_quantile(scores, 0.8) == 8.0  # ceil(10 * 0.8) = 8th smallest
    assert conformal_quantile(scores, 0.95) == 9.0  # rank 10 > n: capped at the largest
    lower, upper = interval_bounds(np.array([5.0]), np.array([0.5]), scores, 0.8)
    assert lower[0] == pytest.approx(1.0) and upper[0] == pytest.approx(9.0)
    np.testing.assert_allclose(nonconformity_scores(np.array([6.0]), np.array([5.0]), np.array([0.5])), [2.0])


def test_settings_reject_bad_levels_and_unknown_fields():
    with pytest.raises(ValueError):
        ModelSettings(interval_levels=[1.2])
    with pytest.raises(ValueError):
        ModelSettings(n_trees=10)
    assert ModelSettings(interval_levels=[0.9, 0.8, 0.9]).interval_levels == [0.8, 0.9]
