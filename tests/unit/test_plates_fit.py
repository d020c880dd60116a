"""Dose-response science: well names, plate QC, 4PL/3PL fits with outlier masking, curve classes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab_sync.plates.curve_class import classify_curve
from lab_sync.plates.curve_fit import fit_dose_response, logistic
from lab_sync.plates.plate_qc import percent_inhibition, plate_quality
from lab_sync.plates.plate_reader import WellRecord
from lab_sync.plates.settings import PlateSettings
from lab_sync.plates.wells import PLATE_96, layout_for, parse_well, well_name

CONCS = 30000 / 3 ** np.arange(10)  # nM, 30 µM down in 3-fold steps


def curve(ic50, hill=1.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return logistic(np.log10(CONCS), 0, 100, math.log10(ic50), hill) + rng.normal(0, noise, len(CONCS))


def test_well_names_both_spellings_and_bad_ones():
    assert parse_well("A1") == parse_well("a01") == (0, 0)
    assert parse_well("P24") == (15, 23) and well_name(15, 23) == "P24" and well_name(1, 2) == "B03"
    for bad in ("Q1", "A25", "A0", "11", ""):
        with pytest.raises(ValueError):
            parse_well(bad)
    assert layout_for([(7, 11)]) is PLATE_96 and layout_for([(8, 0)]).n_wells == 384


def test_z_prime_and_normalisation_from_controls():
    wells = [WellRecord("P1", "A01", 0, 0, "high", s, 2) for s in (100.0, 102.0, 98.0, 100.0)]
    wells += [WellRecord("P1", "A02", 0, 1, "low", s, 2) for s in (10.0, 12.0, 8.0, 10.0)]
    qc = plate_quality("P1", wells, PlateSettings())
    sd = float(np.std([100, 102, 98, 100], ddof=1))
    assert qc.z_prime == pytest.approx(1 - 3 * (2 * sd) / 90)
    assert qc.passed and percent_inhibition(55.0, qc) == pytest.approx(50.0)
    assert plate_quality("P1", wells[:4], PlateSettings()) is None  # no low controls


def test_exact_curve_recovers_parameters_with_a_tight_interval():
    fit = fit_dose_response(CONCS, curve(120.0, hill=1.3))
    assert fit.model == "4PL" and fit.ic50_nm == pytest.approx(120.0, rel=1e-3)
    assert fit.hill == pytest.approx(1.3, abs=1e-3) and fit.r2 == pytest.approx(1.0)
    call = classify_curve(fit)
    assert call.curve_class == "complete" and call.qualifier == "=" and not fit.masked


def test_noisy_curve_interval_contains_the_truth():
    fit = fit_dose_response(CONCS, curve(300.0, noise=5.0, seed=3))
    assert fit.ci_low_nm < 300.0 < fit.ci_high_nm
    assert abs(math.log10(fit.ic50_nm / 300.0)) < 0.15


def test_outlier_well_is_masked_with_its_reason_and_does_not_move_the_ic50():
    y = curve(100.0, noise=3.0, seed=1)
    y[4] += 60.0
    fit = fit_dose_response(CONCS, y)
    assert [i for i, _ in fit.masked] == [4] and fit.mask[4]
    assert "outlier" in fit.masked[0][1] and "robust SDs" in fit.masked[0][1]
    assert abs(math.log10(fit.ic50_nm / 100.0)) < 0.1
    assert "outliers_masked" in classify_curve(fit).flags


def test_weak_compound_is_incomplete_and_censored_never_exact():
    fit = fit_dose_response(CONCS, curve(60000.0, noise=2.0))
    call = classify_curve(fit)
    assert fit.model.startswith("3PL") and call.curve_class == "incomplete"
    assert call.qualifier == ">" and call.ic50_nm == pytest.approx(30000.0)


def test_inactive_compound_is_censored_at_the_top_concentration():
    fit = fit_dose_response(CONCS, np.random.default_rng(0).normal(2.0, 4.0, len(CONCS)))
    call = classify_curve(fit)
    assert call.curve_class == "inactive" and call.qualifier == ">" and call.ic50_nm == pytest.approx(30000.0)


def test_very_potent_compound_is_below_range():
    call = classify_curve(fit_dose_response(CONCS, curve(0.3, noise=2.0)))
    assert call.curve_class == "below_range" and call.qualifier == "<"
    assert call.ic50_nm == pytest.approx(CONCS.min())


def test_shallow_and_steep_slopes_are_flagged():
    assert "shallow" in classify_curve(fit_dose_response(CONCS, curve(300.0, hill=0.4))).flags
    assert "steep" in classify_curve(fit_dose_response(CONCS, curve(300.0, hill=4.0))).flags


def test_scattered_points_are_a_poor_fit_without_a_potency():
    rng = np.random.default_rng(5)
    y = curve(300.0) + rng.normal(0, 25, len(CONCS))
    call = classify_curve(fit_dose_response(CONCS, y), PlateSettings(r2_min=0.95))
    assert call.curve_class == "poor_fit" and call.qualifier is None and call.ic50_nm is None
