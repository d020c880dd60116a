"""Desirability functions and the weighted geometric mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ranking.desirability import desirability, score_groups, weighted_geometric_mean
from ranking.settings import DesirabilitySpec


def spec(kind, low, high, **kw):
    return DesirabilitySpec(column="x", label="x", kind=kind, low=low, high=high,
                            group=kw.pop("group", "developability"), **kw)


def test_higher_is_better_ramp_with_bounds_and_nan():
    d = desirability([4.0, 5.0, 6.5, 8.0, 9.0, np.nan], spec("higher", 5.0, 8.0, hard=True))
    np.testing.assert_allclose(d[:5], [0.0, 0.0, 0.5, 1.0, 1.0])
    assert np.isnan(d[5])


def test_lower_is_better_and_step_when_bounds_coincide():
    d = desirability([2.0, 3.0, 4.5, 6.0, 7.0], spec("lower", 3, 6, hard=True))
    np.testing.assert_allclose(d, [1.0, 1.0, 0.5, 0.0, 0.0])
    # low == high: a threshold (the bound itself is good), not a division by zero
    np.testing.assert_allclose(desirability([0, 1, 2], spec("lower", 1, 1, hard=True)), [1, 1, 0])
    np.testing.assert_allclose(desirability([0, 1, 2], spec("higher", 1, 1, hard=True)), [0, 1, 1])


def test_range_with_tolerance_and_zero_tolerance():
    s = spec("range", 1.0, 4.0, tolerance=2.0, hard=True)
    np.testing.assert_allclose(desirability([-1.5, -1.0, 0.0, 1.0, 2.5, 4.0, 5.0, 6.0, 7.0], s),
                               [0, 0, 0.5, 1, 1, 1, 0.5, 0, 0])
    np.testing.assert_allclose(desirability([0.9, 1.0, 4.0, 4.1], spec("range", 1, 4, hard=True)),
                               [0, 1, 1, 0])


def test_soft_properties_are_floored_hard_ones_are_not():
    soft = desirability([0.0], spec("higher", 0.2, 0.6), soft_floor=0.1)
    hard = desirability([0.0], spec("higher", 0.2, 0.6, hard=True), soft_floor=0.1)
    assert soft[0] == pytest.approx(0.1) and hard[0] == 0.0


def test_geometric_mean_zero_vetoes_nan_drops_out_and_weights_count():
    values = np.array([[1.0, 0.0, 0.9],
                       [0.25, 1.0, np.nan],
                       [np.nan, np.nan, np.nan],
                       [0.5, 0.5, 0.5]])
    out = weighted_geometric_mean(values, [2.0, 1.0, 1.0])
    assert out[0] == 0.0
    assert out[1] == pytest.approx((0.25 ** 2 * 1.0) ** (1 / 3))
    assert np.isnan(out[2])
    assert out[3] == pytest.approx(0.5)


def test_score_groups_reports_veto_and_group_means():
    specs = (spec("higher", 5, 8, group="potency"),
             DesirabilitySpec(column="n_alerts", label="alerts", kind="lower", low=0, high=2,
                              hard=True, group="developability"))
    table = pd.DataFrame({"x": [8.0, 8.0, 5.0], "n_alerts": [0.0, 2.0, np.nan]})
    out = score_groups(table, specs, soft_floor=0.1)
    assert list(out["score_veto"]) == ["", "alerts", ""]
    assert out["score"].tolist()[:2] == [1.0, 0.0]
    assert out["score"][2] == pytest.approx(0.1)  # only the floored potency is known
    assert np.isnan(out["physics_evidence"]).all()
    assert np.isnan(out.loc[2, "developability"])


def test_a_replacing_property_drops_the_replaced_one_where_present():
    raw = DesirabilitySpec(column="mmgbsa", label="MM/GBSA", kind="lower", low=-50, high=-20,
                           group="physics")
    calibrated = DesirabilitySpec(column="cal_p", label="cal", kind="higher", low=5, high=8,
                                  group="physics", replaces="mmgbsa")
    table = pd.DataFrame({"mmgbsa": [-50.0, -35.0, np.nan], "cal_p": [np.nan, 8.0, 6.5]})
    out = score_groups(table, [raw, calibrated], soft_floor=0.1)
    np.testing.assert_allclose(out["d_mmgbsa"].to_numpy(), [1.0, np.nan, np.nan])
    np.testing.assert_allclose(out["physics_evidence"].to_numpy(), [1.0, 1.0, 0.5])
