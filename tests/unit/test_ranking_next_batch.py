"""propose_next_batch: eligibility, acquisition, diversity and determinism."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import build_tables, chembl_records  # noqa: E402

from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.next_batch import (NEXT_BATCH_COLUMNS, expected_improvement,  # noqa: E402
                                propose_next_batch, sd_bound)
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import NextBatchSettings, RankSettings  # noqa: E402


@pytest.fixture(scope="module")
def ranked():
    tables = build_tables(chembl_records(90), measured_every=3, n_simulated=5)
    return rank_candidates(merge_candidate_table(**tables), RankSettings(n_samples=200))


def _settings(**next_batch):
    # The fixture's measured third spans only 0.2 log units, so the default σ bound
    # (1.5 × SD(y)) would leave nothing eligible; tests not about the bound widen it.
    return RankSettings(next_batch=NextBatchSettings(**{"max_sd_factor": 5.0, **next_batch}))


def _tanimoto(a: str, b: str) -> float:
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return DataStructs.TanimotoSimilarity(gen.GetFingerprint(Chem.MolFromSmiles(a)),
                                          gen.GetFingerprint(Chem.MolFromSmiles(b)))


@pytest.mark.parametrize("threshold", [0.45, 0.6])
def test_picks_are_diverse_unmeasured_and_ordered(ranked, threshold):
    batch = propose_next_batch(ranked, 8, _settings(acquisition="ucb",
                                                    max_tanimoto_to_picked=threshold))
    assert list(batch.columns) == NEXT_BATCH_COLUMNS
    assert 1 < len(batch) <= 8 and list(batch["pick"]) == list(range(1, len(batch) + 1))
    for a, b in itertools.combinations(batch["smiles"], 2):
        assert _tanimoto(a, b) <= threshold + 1e-9
    measured = set(ranked.loc[ranked["measured_p_activity"].notna(), "compound_id"])
    assert not measured & set(batch["compound_id"])
    assert batch["acquisition"].is_monotonic_decreasing
    assert batch["reason"].str.startswith("UCB ").all()
    assert batch["reason"].iloc[0].endswith("first pick")
    assert batch["reason"].iloc[1:].str.contains("nearest pick .* at Tanimoto", regex=True).all()


def test_diversity_actually_skips_close_analogues(ranked):
    loose = propose_next_batch(ranked, 8, _settings(max_tanimoto_to_picked=1.0))
    tight = propose_next_batch(ranked, 8, _settings(max_tanimoto_to_picked=0.45))
    assert loose["max_tanimoto_to_picked"].max() > 0.45
    assert list(loose["compound_id"]) != list(tight["compound_id"])


def test_deterministic_and_independent_of_row_order(ranked):
    settings = _settings(max_tanimoto_to_picked=0.6)
    first = propose_next_batch(ranked, 6, settings)
    again = propose_next_batch(ranked.sample(frac=1.0, random_state=11), 6, settings)
    assert list(first["compound_id"]) == list(again["compound_id"])
    assert list(first["reason"]) == list(again["reason"])


def test_alerts_and_admet_gate_the_pool(ranked):
    settings = _settings(max_tanimoto_to_picked=1.0)
    best = propose_next_batch(ranked, 1, settings)["compound_id"].iloc[0]
    flagged = ranked.copy()
    flagged.loc[flagged["compound_id"] == best, "n_alerts"] = 1.0
    assert best not in set(propose_next_batch(flagged, 5, settings)["compound_id"])
    risky = ranked.assign(admet_max_risk=np.where(ranked["compound_id"] == best, 0.9, 0.1))
    assert best not in set(propose_next_batch(risky, 5, settings)["compound_id"])


def test_sa_penalty_and_ei(ranked):
    plain = propose_next_batch(ranked, 40, _settings(acquisition="ucb", max_tanimoto_to_picked=1.0))
    costly = propose_next_batch(ranked, 40, _settings(acquisition="ucb", max_tanimoto_to_picked=1.0,
                                                      sa_free_below=2.0, sa_penalty_per_unit=1.0))
    merged = plain.merge(costly, on="compound_id", suffixes=("", "_cost"))
    np.testing.assert_allclose(merged["acquisition"] - merged["acquisition_cost"],
                               np.clip(merged["sa_score"] - 2.0, 0, None))
    assert costly["reason"].str.contains("costs").any()
    ei = propose_next_batch(ranked, 5, _settings(acquisition="ei", max_tanimoto_to_picked=1.0))
    assert (ei["acquisition"] >= 0).all() and ei["reason"].str.startswith("EI ").all()
    no_spread = expected_improvement(np.array([7.0, 8.0]), np.array([0.0, 0.0]), 7.5)
    np.testing.assert_allclose(no_spread, [0.0, 0.5])
    assert expected_improvement(np.array([7.0]), np.array([1.0]), 7.0)[0] == pytest.approx(
        1.0 / np.sqrt(2 * np.pi))


def test_nothing_eligible_gives_empty_frame(ranked):
    everything_measured = ranked.assign(measured_p_activity=7.0)
    batch = propose_next_batch(everything_measured, 5, RankSettings())
    assert batch.empty and list(batch.columns) == NEXT_BATCH_COLUMNS


def test_thompson_is_gate_aware_bounded_and_reproducible(ranked):
    settings = _settings(acquisition="thompson", max_tanimoto_to_picked=1.0)
    batch = propose_next_batch(ranked, 10, settings)
    assert len(batch) == 10 and batch["reason"].str.startswith("Thompson draw ").all()
    again = propose_next_batch(ranked.sample(frac=1.0, random_state=5), 10, settings)
    assert list(batch["compound_id"]) == list(again["compound_id"])
    # A compound that fails the target stage's other gates for certain is never drawn.
    best = batch["compound_id"].iloc[0]
    failing = ranked.assign(p_target_other=np.where(ranked["compound_id"] == best, 0.0,
                                                    ranked["p_target_other"]))
    assert best not in set(propose_next_batch(failing, 10, settings)["compound_id"])
    # σ is never filled with 0: a compound without one is not eligible.
    no_sd = ranked.assign(activity_sd=np.where(ranked["compound_id"] == best, np.nan,
                                               ranked["activity_sd"]))
    assert best not in set(propose_next_batch(no_sd, 10, settings)["compound_id"])


@pytest.mark.parametrize("acquisition", ["p_clear", "thompson", "ucb", "ei"])
def test_no_compound_above_the_sd_bound_is_proposed(ranked, acquisition):
    measured = ranked["measured_p_activity"].dropna()
    unmeasured = ranked[ranked["activity_source"] != "measured"]
    # A factor that puts the bound inside the unmeasured compounds' σ range.
    factor = float(unmeasured["activity_sd"].median() / measured.std(ddof=1))
    settings = _settings(acquisition=acquisition, max_sd_factor=factor, max_tanimoto_to_picked=1.0)
    bound = sd_bound(ranked, settings)
    assert bound == pytest.approx(factor * measured.std(ddof=1))
    batch = propose_next_batch(ranked, 40, settings)
    assert len(batch) == (unmeasured["activity_sd"] <= bound).sum()
    assert (batch["activity_sd"] <= bound).all()
    # With the default factor this narrow series (SD(y) 0.2) leaves nothing eligible.
    assert propose_next_batch(ranked, 40, RankSettings()).empty


def test_default_p_clear_batch_follows_the_ranking(ranked):
    settings = _settings(max_tanimoto_to_picked=1.0)
    batch = propose_next_batch(ranked, 6, settings)
    assert batch["reason"].str.startswith("p(clear target) ").all()
    unmeasured = ranked[ranked["activity_source"] != "measured"]
    # With σ within the bound, the acquisition is p(clear target) itself: the best-ranked
    # unmeasured compounds come first.
    bound = sd_bound(ranked, settings)
    if (unmeasured["activity_sd"] <= bound).all():
        top = unmeasured.sort_values(["p_clear_gates", "activity_p"], ascending=False)
        assert list(batch["compound_id"]) == list(top["compound_id"].head(6))
    np.testing.assert_array_less(batch["acquisition"], 1.0 + 1e-12)
    assert batch["acquisition"].is_monotonic_decreasing
