"""Error bars of correlated frame averages, checked on AR(1) series with a known answer.

An AR(1) series x_t = φ x_{t−1} + ε_t has C(t) = φ^t, hence a statistical
inefficiency g = (1 + φ) / (1 − φ) (9 for φ = 0.8) and a true standard error
of the mean sqrt(g) times the naive one.
"""

import math

import numpy as np
import pandas as pd

from simulation.analyse import mmgbsa_estimate
from simulation.uncertainty import (autocorrelation, blocking_standard_error, detect_equilibration,
                                    mean_and_standard_error, statistical_inefficiency)


def ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    x = np.empty(n)
    x[0] = rng.normal() / math.sqrt(1 - phi ** 2)  # start in the stationary distribution
    noise = rng.normal(size=n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    return x


def test_autocorrelation_of_ar1_decays_as_phi_to_the_t():
    x = ar1(50_000, 0.6, np.random.default_rng(1))
    c = autocorrelation(x)
    assert c[0] == 1.0
    assert np.allclose(c[1:4], [0.6, 0.36, 0.216], atol=0.02)


def test_statistical_inefficiency_matches_the_known_value():
    rng = np.random.default_rng(2)
    assert abs(statistical_inefficiency(ar1(50_000, 0.8, rng)) - 9.0) < 1.0
    assert abs(statistical_inefficiency(rng.normal(size=50_000)) - 1.0) < 0.1
    assert statistical_inefficiency(np.ones(10)) == 1.0


def test_standard_error_covers_the_spread_of_replica_means_where_the_naive_one_does_not():
    rng = np.random.default_rng(3)
    series = [ar1(400, 0.8, rng) for _ in range(300)]
    true_sd = float(np.std([s.mean() for s in series], ddof=1))  # ≈ sqrt(9 / 400)
    stats = [mean_and_standard_error(s, discard_equilibration=False) for s in series]
    sem = float(np.median([s["sem"] for s in stats]))
    naive = float(np.median([s["naive_sem"] for s in stats]))
    assert naive < 0.5 * true_sd  # the naive error is ~3x too small
    assert 0.75 * true_sd < sem < 1.5 * true_sd
    assert blocking_standard_error(series[0]) > naive


def test_equilibration_frames_are_detected_and_discarded():
    rng = np.random.default_rng(4)
    x = ar1(200, 0.5, rng)
    x[:30] += np.linspace(8.0, 0.5, 30)  # a relaxing start, as after a restrained equilibration
    t0, g, n_eff = detect_equilibration(x)
    assert 20 <= t0 <= 60
    stats = mean_and_standard_error(x)
    assert stats["n_discarded"] == t0
    assert abs(stats["mean"]) < abs(x.mean())  # the drift no longer biases the mean


def test_mmgbsa_estimate_reports_the_correlated_error_and_the_discarded_frames():
    rng = np.random.default_rng(5)
    frames = pd.DataFrame({"mmgbsa_kcal_mol": -40.0 + 2.0 * ar1(250, 0.8, rng)})
    out = mmgbsa_estimate(frames)
    assert out["mmgbsa_sem_kcal_mol"] > 2.0 * out["mmgbsa_naive_sem_kcal_mol"]
    assert out["mmgbsa_statistical_inefficiency"] > 3.0
    assert 0 <= out["mmgbsa_frames_discarded"] <= 125
    assert math.isnan(mmgbsa_estimate(pd.DataFrame({"mmgbsa_kcal_mol": [1.0]}))["mmgbsa_sem_kcal_mol"])
