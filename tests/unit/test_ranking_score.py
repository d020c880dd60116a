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

SETTINGS = RankSettings(seed=7)


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
    # A compound's probability does not depend on the order of the rows.
    shuffled = merged.sample(frac=1.0, random_state=3)
    np.testing.assert_array_equal(p_clear_gates(shuffled, SETTINGS),
                                  pd.Series(p, index=merged.index)[shuffled.index].to_numpy())


def test_every_compound_gets_a_probability_from_its_distribution(ranked):
    predicted = ranked[ranked["activity_source"] == "predicted"]
    assert len(predicted) and (predicted["p_clear_gates"] > 0).any()
    # Predicted: the Normal of the calibrated interval, against the lead gate >= 7.0.
    row = predicted.iloc[0]
    assert row["activity_sd"] > 0
    p_potency = norm.sf(7.0, row["activity_p"], row["activity_sd"])
    assert row["p_clear_gates"] == pytest.approx(p_potency * row["p_target_other"], abs=1e-9)


def test_p_clear_gates_is_monotone_in_activity(tables):
    values = np.linspace(6.0, 8.0, 21)
    probs = [p_clear_gates(_with_measurement(tables, "ejm_31", v), SETTINGS)[0] for v in values]
    assert all(b >= a for a, b in zip(probs, probs[1:]))
    assert probs[0] < 0.01 and probs[-1] > 0.99
    assert probs[10] == pytest.approx(0.5, abs=0.05)  # 7.0 ± σ of the mean against >= 7.0


def test_censored_measurements(tables):
    below = _with_measurement(tables, "ejm_31", 7.5, "<")  # true value < 7.5: may still be ≥ 7
    assert below["activity_qualifier"].iloc[0] == "<"
    # '<' 6.5 cannot be >= 7.0 whatever the prediction says
    hopeless = _with_measurement(tables, "ejm_31", 6.5, "<=", pred_p_activity=9.5, pred_std=0.3)
    assert p_clear_gates(hopeless, SETTINGS)[0] == 0.0
    # '>' 7.5 is certainly >= 7.0, even with a pessimistic prediction
    sure = _with_measurement(tables, "ejm_31", 7.5, ">", pred_p_activity=5.0, pred_std=0.3)
    assert p_clear_gates(sure, SETTINGS)[0] == 1.0
    # '>' 6.8 against >= 7.0 is undecided: the other evidence (here an out-of-fold
    # prediction) truncated at the bound sets the odds.
    low = _with_measurement(tables, "ejm_31", 6.8, ">", oof_pred_p_activity=6.5, oof_pred_std=0.5)
    high = _with_measurement(tables, "ejm_31", 6.8, ">", oof_pred_p_activity=7.5, oof_pred_std=0.5)
    p_low, p_high = p_clear_gates(low, SETTINGS)[0], p_clear_gates(high, SETTINGS)[0]
    assert 0.0 < p_low < p_high < 1.0
    # P(X ≥ 7 | X > 6.8) for X ~ N(7.5, 0.5)
    assert p_high == pytest.approx(norm.sf(7.0, 7.5, 0.5) / norm.sf(6.8, 7.5, 0.5), abs=1e-6)
    ranked = rank_candidates(low, SETTINGS).iloc[0]
    assert "measured > 6.80" in ranked["criteria_missed"]
    # Not treated as the bound itself: an exact 6.8 gives less chance.
    exact = _with_measurement(tables, "ejm_31", 6.8, "=")
    assert p_clear_gates(exact, SETTINGS)[0] < p_low


def test_criteria_strings_and_missing_evidence(ranked):
    jmc_28 = ranked.loc["jmc_28"]
    assert f"pActivity {jmc_28['activity_p']:.2f} ± {jmc_28['activity_sd']:.2f} (measured) ≥ 7.0: " \
        f"p 1.00" in jmc_28["criteria_met"].split("; ")
    assert "lead: alerts 1 not ≤ 0: p 0.00" in ranked.loc["jmc_27", "criteria_missed"]
    predicted = ranked[ranked["activity_source"] == "predicted"].iloc[0]
    assert "hit: pActivity" in predicted["criteria_missed"]
    assert "(predicted), needs a measured value ≥ 6.0" in predicted["criteria_missed"]
    # Missing MD: an explicit prior, neither 0 nor met.
    failed_sim = {"compound_id": "x", "sim_status": "failed", "frac_frames_within_2A": np.nan}
    outcome = evaluate_criterion(failed_sim, SETTINGS.stages[2].criteria[-1])
    assert outcome.status == "unknown" and 0 < outcome.p < 1
    assert outcome.text == "pose stability simulation failed, needs ≥ 0.60: prior p 0.50"


def test_stages_say_what_is_known(ranked):
    never_made = ranked[ranked["activity_source"] != "measured"]
    assert (never_made["stage"] == "designed").all()
    measured = ranked[ranked["activity_source"] == "measured"]
    assert set(measured["stage"]) <= {"measured", "hit", "lead", "candidate", "clinical"}
    assert ranked.loc["jmc_28", "stage"] == "candidate"  # clinical needs ADMET: not predicted


def test_decisions(ranked, tables):
    assert set(ranked["decision"]) <= {"advance", "hold", "deprioritize"}
    jmc_23 = ranked.loc["jmc_23"]  # potent but only predicted: advance = make and test
    assert jmc_23["decision"] == "advance" and jmc_23["decision_reason"].startswith("make and test")
    assert f"p(clear lead) = {jmc_23['p_clear_gates']:.2f}" in jmc_23["decision_reason"]
    weak = rank_candidates(_with_measurement(tables, "ejm_49", 5.0), SETTINGS).iloc[0]
    assert (weak["stage"], weak["decision"]) == ("measured", "deprioritize")
    assert weak["decision_reason"].startswith("p(clear lead) = 0.00 < 0.10; weakest: pActivity 5.00")
    vetoed = rank_candidates(_with_measurement(tables, "ejm_42", 8.0, alerts="a; b"),
                             SETTINGS).iloc[0]
    assert vetoed["decision"] == "deprioritize" and vetoed["score"] == 0.0
    assert "weakest: alerts 2 not ≤ 0: p 0.00" in vetoed["decision_reason"]
    best = _with_measurement(tables, "jmc_28", 8.9)
    best["admet_herg"] = 0.1
    best["admet_ames"] = 0.2
    top = rank_candidates(best, SETTINGS).iloc[0]
    assert top["stage"] == "clinical" and top["decision"] == "advance"
    assert top["admet_max_risk"] == pytest.approx(0.2)


def test_no_potency_estimate_uses_the_prior(tables):
    no_activity = merge_candidate_table(tables["candidates"], tables["filtered_props"])
    ranked = rank_candidates(no_activity, SETTINGS)
    assert (ranked["activity_source"] == "prior").all() and (ranked["stage"] == "designed").all()
    assert (ranked["activity_p"] == 6.0).all() and (ranked["activity_sd"] == 1.5).all()
    assert ranked["activity_evidence"].str.contains("no evidence: default prior").all()
    assert ((ranked["p_clear_gates"] > 0) & (ranked["p_clear_gates"] < 0.5)).any()


def test_measured_sd_is_the_sd_of_the_mean(tables, ranked):
    # Two replicates agreeing to 0.01 do not make a measurement exact: shrunk towards the
    # assay's typical SD (pooled 0.2 over the series), then divided by √2.
    measured = ranked[ranked["activity_source"] == "measured"]
    np.testing.assert_allclose(measured["measured_sd_of_mean"], 0.2 / np.sqrt(2))
    meas = tables["measurements"].copy()
    meas.loc[meas["compound_id"] == "ejm_31", "measured_sd"] = 0.01
    merged = merge_candidate_table(**{**tables, "measurements": meas})
    ranked = rank_candidates(merged, SETTINGS).set_index("compound_id")
    sd = ranked.loc["ejm_31", "measured_sd_of_mean"]
    k = len(meas)  # every measured compound has n = 2; the pooled SD moves a little too
    tau2 = ((k - 1) * 0.2 ** 2 + 0.01 ** 2) / k
    expected = np.sqrt((3 * tau2 + 1 * 0.01 ** 2) / 4 / 2)
    assert sd == pytest.approx(expected) and sd > 0.1


def test_physics_enters_potency_once(ranked):
    simulated = ranked[ranked["calibrated_physics_p"].notna()]
    assert len(simulated)
    row = simulated.iloc[0]
    w_m, w_p = 1 / row["measured_sd_of_mean"] ** 2, 1 / row["calibrated_physics_sd"] ** 2
    combined = (w_m * row["measured_p_activity"] + w_p * row["calibrated_physics_p"]) / (w_m + w_p)
    assert row["activity_p"] == pytest.approx(combined)
    assert row["activity_sd"] == pytest.approx((w_m + w_p) ** -0.5)
    # No MM/GBSA gate, no physics desirability: the score counts potency once.
    assert not any(c.column.startswith("mmgbsa") for s in SETTINGS.stages for c in s.criteria)
    assert "d_mmgbsa_kcal_mol" not in ranked.columns
    assert "d_calibrated_physics_p" not in ranked.columns


def test_rank_order_and_columns(ranked):
    table = ranked.reset_index(drop=True)
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    keys = list(zip(-table["p_clear_gates"], -table["score"]))
    assert keys == sorted(keys)
    assert table.columns[:4].tolist() == ["rank", "compound_id", "decision", "stage"]
    assert table["pareto_rank"].min() == 1
    tiers = table["decision"].map({"advance": 0, "hold": 1, "deprioritize": 2})
    assert tiers.is_monotonic_increasing


def test_pareto_rank():
    objectives = np.array([[1, 1], [2, 2], [1, 2], [0, 0], [np.nan, 3], [2, 2]], dtype=float)
    np.testing.assert_array_equal(pareto_rank(objectives), [3, 1, 2, 4, 1, 1])


def test_designed_compounds_advance_within_the_make_capacity(tables):
    table = merge_candidate_table(**tables)
    free = rank_candidates(table, SETTINGS.model_copy(update={"make_capacity": 10_000}))
    designed = free[free["activity_source"] != "measured"]
    would = designed[designed["p_clear_gates"] >= SETTINGS.advance_at_p]
    assert len(would) >= 3, "the fixture needs several designed compounds worth making"
    capacity = len(would) - 2
    ranked = rank_candidates(table, SETTINGS.model_copy(update={"make_capacity": capacity}))
    made = ranked["activity_source"] == "measured"
    advanced = ranked[~made & (ranked["decision"] == "advance")]
    # The capacity's most likely designed compounds are made next; the rest wait.
    best = would.sort_values("p_clear_gates", ascending=False)["compound_id"].head(capacity)
    assert set(advanced["compound_id"]) == set(best)
    held = ranked[~made & (ranked["decision"] == "hold") & (ranked["p_clear_gates"] >= 0.5)]
    assert len(held) == 2
    assert held["decision_reason"].str.contains(f"beyond the make capacity of {capacity}").all()
    assert advanced["decision_reason"].str.contains("make and test").all()
    # Measured compounds are untouched by the capacity.
    pd.testing.assert_series_equal(
        ranked[made].set_index("compound_id")["decision"].sort_index(),
        free[free["activity_source"] == "measured"].set_index("compound_id")["decision"].sort_index())
    # Decision order is rank order.
    tiers = ranked["decision"].map({"advance": 0, "hold": 1, "deprioritize": 2})
    assert tiers.is_monotonic_increasing
