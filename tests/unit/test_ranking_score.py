"""Gates, p_clear_gates (incl. censored data), decisions and ranking on Tyk2 tables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import build_tables, tyk2_records  # noqa: E402

from ranking.gates import evaluate_criterion  # noqa: E402
from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.score import p_clear_gates, pareto_rank, rank_candidates  # noqa: E402
from ranking.settings import RankSettings  # noqa: E402

SETTINGS = RankSettings(n_samples=4000, seed=7)


@pytest.fixture(scope="module")
def tables():
    return build_tables(tyk2_records())


@pytest.fixture(scope="module")
def merged(tables):
    return merge_candidate_table(**tables)


@pytest.fixture(scope="module")
def ranked(merged):
    return rank_candidates(merged, SETTINGS).set_index("compound_id", drop=False)


def _with_measurement(tables, compound_id, value, qualifier="=", **extra):
    """Merged table where one compound carries the given measurement."""
    meas = tables["measurements"].set_index("compound_id")
    meas.loc[compound_id, ["measured_p_activity", "measured_sd", "measured_n",
                           "measured_qualifier"]] = [value, 0.2, 2, qualifier]
    merged = merge_candidate_table(**{**tables, "measurements": meas.reset_index()})
    for column, v in extra.items():
        merged.loc[merged["compound_id"] == compound_id, column] = v
    return merged[merged["compound_id"] == compound_id]


def test_p_clear_gates_is_a_probability_and_deterministic(merged):
    p = p_clear_gates(merged, SETTINGS)
    assert p.shape == (len(merged),) and ((p >= 0) & (p <= 1)).all()
    assert 0 < p.max() and np.unique(p).size > 3
    np.testing.assert_array_equal(p, p_clear_gates(merged, SETTINGS))
    # A compound's probability does not depend on the other rows or their order.
    shuffled = merged.sample(frac=1.0, random_state=3)
    np.testing.assert_array_equal(p_clear_gates(shuffled, SETTINGS),
                                  pd.Series(p, index=merged.index)[shuffled.index].to_numpy())
    other_seed = p_clear_gates(merged, RankSettings(n_samples=4000, seed=8))
    assert np.abs(other_seed - p).max() < 0.05


def test_p_clear_gates_is_monotone_in_activity(tables):
    values = np.linspace(6.0, 8.0, 21)
    probs = [p_clear_gates(_with_measurement(tables, "ejm_31", v), SETTINGS)[0] for v in values]
    assert all(b >= a for a, b in zip(probs, probs[1:]))
    assert probs[0] < 0.01 and probs[-1] > 0.99
    assert probs[10] == pytest.approx(0.5, abs=0.05)  # 7.0 ± 0.2 against a ≥ 7.0 gate


def test_censored_measurements(tables):
    below = _with_measurement(tables, "ejm_31", 7.5, "<")  # true value < 7.5: may still be ≥ 7
    assert below["activity_qualifier"].iloc[0] == "<"
    # '<' 6.5 cannot be >= 7.0 whatever the prediction says
    hopeless = _with_measurement(tables, "ejm_31", 6.5, "<=", pred_p_activity=9.5, pred_std=0.3)
    assert p_clear_gates(hopeless, SETTINGS)[0] == 0.0
    outcome = evaluate_criterion(hopeless.iloc[0].to_dict(), SETTINGS.stages[1].criteria[0])
    assert (outcome.status, outcome.text) == ("missed",
                                              "pActivity < 6.5 not ≥ 7.0 (measured, censored)")
    # '>' 7.5 is certainly >= 7.0, even with a pessimistic prediction
    sure = _with_measurement(tables, "ejm_31", 7.5, ">", pred_p_activity=5.0, pred_std=0.3)
    assert p_clear_gates(sure, SETTINGS)[0] == 1.0
    lead_activity = SETTINGS.stages[1].criteria[0]
    assert evaluate_criterion(sure.iloc[0].to_dict(), lead_activity).status == "met"
    # '>' 6.8 against >= 7.0 is undecided: the prior (prediction) sets the odds
    low = _with_measurement(tables, "ejm_31", 6.8, ">", pred_p_activity=6.5, pred_std=0.5)
    high = _with_measurement(tables, "ejm_31", 6.8, ">", pred_p_activity=7.5, pred_std=0.5)
    p_low, p_high = p_clear_gates(low, SETTINGS)[0], p_clear_gates(high, SETTINGS)[0]
    assert 0.0 < p_low < p_high < 1.0
    # P(X ≥ 7 | X > 6.8) for X ~ N(7.5, 0.5), the prediction as prior
    assert p_high == pytest.approx(norm.sf(7.0, 7.5, 0.5) / norm.sf(6.8, 7.5, 0.5), abs=0.02)
    undecided = evaluate_criterion(low.iloc[0].to_dict(), SETTINGS.stages[1].criteria[0])
    assert undecided.status == "unknown" and "cannot tell" in undecided.text
    # Not treated as the bound itself: an exact 6.8 would give almost no chance.
    exact = _with_measurement(tables, "ejm_31", 6.8, "=")
    assert p_clear_gates(exact, SETTINGS)[0] < p_low


def test_criteria_strings_and_unknowns(ranked, tables):
    jmc_28 = ranked.loc["jmc_28"]
    assert f"pActivity {jmc_28['measured_p_activity']:.1f} ≥ 7.0 (measured)" \
        in jmc_28["criteria_met"].split("; ")
    assert "lead: alerts 1 not ≤ 0" in ranked.loc["jmc_27", "criteria_missed"]
    predicted = ranked[ranked["activity_source"] == "predicted"].iloc[0]
    assert predicted["p_clear_gates"] == 0.0
    assert "lead: pActivity unknown: needs a measured value ≥ 7.0 (predicted" \
        in predicted["criteria_missed"]
    assert "counts as not met" in predicted["criteria_missed"]
    failed_sim = {"compound_id": "x", "sim_status": "failed", "mmgbsa_kcal_mol": np.nan}
    outcome = evaluate_criterion(failed_sim, SETTINGS.stages[2].criteria[-1])
    assert outcome.status == "unknown"
    assert outcome.text.startswith("MM/GBSA unknown (simulation failed), needs ≤ -35.0 kcal/mol")


def test_decisions(ranked, tables):
    assert set(ranked["decision"]) <= {"advance", "hold", "deprioritize"}
    # Potent but only predicted: held for make-and-test, never advanced on a prediction alone.
    jmc_23 = ranked.loc["jmc_23"]
    assert jmc_23["decision"] == "hold" and jmc_23["decision_reason"].startswith("make and test")
    assert "to confirm: measured pActivity" in jmc_23["decision_reason"]
    # Measured below the lead gate: hold.
    assert ranked.loc["ejm_50", "decision"] == "hold"
    weak = rank_candidates(_with_measurement(tables, "ejm_49", 5.0), SETTINGS).iloc[0]
    assert (weak["stage"], weak["decision"]) == ("none", "deprioritize")
    assert weak["decision_reason"].startswith("p(clear hit) = 0.00")
    vetoed = rank_candidates(_with_measurement(tables, "ejm_42", 8.0, alerts="a; b"),
                             SETTINGS).iloc[0]
    assert vetoed["decision"] == "deprioritize" and vetoed["score"] == 0.0
    assert vetoed["decision_reason"] == "hard property limit failed: alerts"
    best = _with_measurement(tables, "jmc_28", 8.9)
    best["admet_herg"] = 0.1
    best["admet_ames"] = 0.2
    top = rank_candidates(best, SETTINGS).iloc[0]
    assert top["stage"] == "clinical" and top["decision"] == "advance"
    assert top["decision_reason"] == "meets every gate up to 'recommend for clinical progression'"
    assert top["admet_max_risk"] == pytest.approx(0.2)


def test_no_potency_estimate_is_held_not_advanced(tables):
    no_activity = merge_candidate_table(tables["candidates"], tables["filtered_props"])
    ranked = rank_candidates(no_activity, SETTINGS)
    assert (ranked["decision"] == "hold").all() and (ranked["stage"] == "none").all()
    assert (ranked["decision_reason"] == "no estimate of pActivity: p(clear hit) unknown").all()
    assert (ranked["p_clear_gates"] == 0.0).all()


def test_rank_order_and_columns(ranked):
    table = ranked.reset_index(drop=True)
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    keys = list(zip(-table["p_clear_gates"], -table["score"]))
    assert keys == sorted(keys)
    assert table.columns[:4].tolist() == ["rank", "compound_id", "decision", "stage"]
    assert table["pareto_rank"].min() == 1


def test_pareto_rank():
    objectives = np.array([[1, 1], [2, 2], [1, 2], [0, 0], [np.nan, 3], [2, 2]], dtype=float)
    np.testing.assert_array_equal(pareto_rank(objectives), [3, 1, 2, 4, 1, 1])
