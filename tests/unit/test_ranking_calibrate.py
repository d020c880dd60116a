"""Per-series physics calibration: the fit, its refusals, leave-one-out, use in the score."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import build_tables, tyk2_records  # noqa: E402

from ranking.calibrate import (CALIBRATED, CALIBRATED_SD, apply_physics_calibration,  # noqa: E402
                               fit_physics_calibration)
from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import CalibrationSettings, RankSettings  # noqa: E402


def _series(n_simulated: int, noise_sd: float = 0.4, slope: float = -6.0,
            seed: int = 0) -> pd.DataFrame:
    """Real Tyk2 structures and pKd; MM/GBSA stand-ins = slope·pKd + 8 + Gaussian noise."""
    tables = build_tables(tyk2_records(), measured_every=1, n_simulated=n_simulated)
    merged = merge_candidate_table(**tables)
    rng = np.random.default_rng(seed)
    has = merged["mmgbsa_kcal_mol"].notna()
    merged.loc[has, "mmgbsa_kcal_mol"] = (slope * merged.loc[has, "measured_p_activity"] + 8.0
                                          + rng.normal(0, noise_sd * abs(slope), has.sum()))
    return merged


def test_fit_matches_least_squares_with_standard_errors():
    merged = _series(12)
    cal = fit_physics_calibration(merged)
    assert cal.used and cal.n == 12 and cal.message.startswith("calibrated: pActivity =")
    both = merged.dropna(subset=["mmgbsa_kcal_mol"])
    x, y = both["mmgbsa_kcal_mol"].to_numpy(), both["measured_p_activity"].to_numpy()
    (b, a), cov = np.polyfit(x, y, 1, cov=True)  # numpy scales cov by SSE / (n - 2)
    assert cal.slope == pytest.approx(b) and cal.intercept == pytest.approx(a)
    assert cal.slope_se == pytest.approx(np.sqrt(cov[0, 0]))
    assert cal.intercept_se == pytest.approx(np.sqrt(cov[1, 1]))
    assert cal.r == pytest.approx(np.corrcoef(x, y)[0, 1])
    # Near the true -1/6, a little flatter: noise in x dilutes a least-squares slope.
    assert -1 / 6 * 1.3 < cal.slope < -1 / 6 * 0.6
    # The predictive SD grows away from the data and with the physics value's own error.
    _, sd = cal.predict(np.array([x.mean(), x.mean() + 30]))
    assert sd[1] > sd[0] > cal.residual_sd
    _, sd_sem = cal.predict(np.array([x.mean()]), np.array([3.0]))
    assert sd_sem[0] == pytest.approx(np.sqrt(sd[0] ** 2 + (cal.slope * 3.0) ** 2))


def test_too_few_compounds_says_how_many():
    cal = fit_physics_calibration(_series(3), CalibrationSettings(min_compounds=5))
    assert not cal.used and cal.n == 3
    assert cal.message == "not calibrated: only 3 measured compounds have MM/GBSA (needs 5)"
    out, _ = apply_physics_calibration(_series(3))
    assert out[CALIBRATED].isna().all() and out[CALIBRATED_SD].isna().all()


def test_censored_measurements_are_left_out_and_wrong_sign_refused():
    merged = _series(8)
    simulated = merged.index[merged["mmgbsa_kcal_mol"].notna()]
    merged.loc[simulated[:4], "measured_qualifier"] = ">"
    assert fit_physics_calibration(merged).n == 4
    wrong = _series(10, slope=+6.0)
    cal = fit_physics_calibration(wrong)
    assert not cal.used and cal.slope > 0 and "does not track measured activity" in cal.message
    assert fit_physics_calibration(wrong, CalibrationSettings(expected_slope_sign=0)).used


def test_every_simulated_compound_gets_a_value_fitted_ones_leave_one_out():
    merged = _series(10)
    unmeasured = merged.index[merged["mmgbsa_kcal_mol"].isna()][0]
    merged.loc[unmeasured, ["mmgbsa_kcal_mol", "mmgbsa_sem_kcal_mol"]] = [-40.0, 1.0]
    out, cal = apply_physics_calibration(merged)
    has = out["mmgbsa_kcal_mol"].notna()
    assert out.loc[has, CALIBRATED].notna().all() and out.loc[~has, CALIBRATED].isna().all()
    full_mean, _ = cal.predict(out.loc[has, "mmgbsa_kcal_mol"].to_numpy())
    fitted = out.loc[has, "compound_id"].isin(cal.compound_ids).to_numpy()
    # Not fitted: the full line. Fitted: leave-one-out, so not the full line's value.
    np.testing.assert_allclose(out.loc[has, CALIBRATED].to_numpy()[~fitted], full_mean[~fitted])
    assert not np.allclose(out.loc[has, CALIBRATED].to_numpy()[fitted], full_mean[fitted])


def test_calibrated_physics_enters_the_potency_estimate_not_the_score():
    merged = _series(10)
    ranked = rank_candidates(merged, RankSettings())
    sim = ranked["mmgbsa_kcal_mol"].notna()
    assert ranked.loc[sim, CALIBRATED].notna().all()
    assert ranked.loc[sim, "activity_evidence"].str.contains("calibrated physics").all()
    assert not {"d_mmgbsa_kcal_mol", "d_calibrated_physics_p"} & set(ranked.columns)
    off = rank_candidates(merged, RankSettings(calibration=CalibrationSettings(enabled=False)))
    assert off[CALIBRATED].isna().all()
    assert not off["activity_evidence"].str.contains("physics").any()
    by_id = ranked.set_index("compound_id")
    off_id = off.set_index("compound_id")
    ids = by_id.index[sim.to_numpy()]
    assert (by_id.loc[ids, "activity_sd"] < off_id.loc[ids, "activity_sd"]).all()


def test_replaces_must_name_another_profile_property():
    from ranking.settings import DEFAULT_PROFILE, DesirabilitySpec

    bad = DesirabilitySpec(column="x_p", label="x", kind="higher", low=0, high=1,
                           group="physics", replaces="not_a_column")
    with pytest.raises(ValueError, match="replaces 'not_a_column'"):
        RankSettings(desirability=(*DEFAULT_PROFILE, bad))


def test_unchecked_or_failed_poses_are_no_evidence():
    """Fail closed: a pose whose checks could not run never feeds or receives calibrated physics."""
    merged = _series(10)
    simulated = merged.index[merged["mmgbsa_kcal_mol"].notna()]
    merged["pose_check_status"] = "passed"
    n_all = fit_physics_calibration(merged).n
    merged.loc[simulated[:2], "pose_check_status"] = ["unchecked", "failed"]
    assert fit_physics_calibration(merged).n == n_all - 2
    out, _ = apply_physics_calibration(merged)
    assert out.loc[simulated[:2], CALIBRATED].isna().all()
    assert out.loc[simulated[2:], CALIBRATED].notna().all()


def test_message_gives_n_and_leave_one_out_r_and_weak_fits_are_refused():
    merged = _series(8)
    cal = fit_physics_calibration(merged)
    both = merged.dropna(subset=["mmgbsa_kcal_mol"])
    x, y = both["mmgbsa_kcal_mol"].to_numpy(), both["measured_p_activity"].to_numpy()
    loo = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        b, a = np.polyfit(x[keep], y[keep], 1)
        loo.append(a + b * x[i])
    assert cal.loo_r == pytest.approx(np.corrcoef(loo, y)[0, 1])
    assert cal.used and f"n = 8, leave-one-out R = {cal.loo_r:+.2f}" in cal.message
    # Pure noise in x: the line cannot predict a left-out compound; the report says it is too weak.
    noisy = _series(8, noise_sd=5.0, seed=3)
    weak = fit_physics_calibration(noisy, CalibrationSettings(expected_slope_sign=0))
    assert weak.loo_r < 0.3 and not weak.used and "too weak to use" in weak.message
