"""Per-series calibration of a physics score (MM/GBSA) against measured pActivity.

MM/GBSA energies are not free energies: their scale and offset depend on the protocol
and the target, so the raw numbers only rank compounds within one series. Where the
series has enough compounds with both a simulation and an exact measurement, a straight
line pActivity ≈ a + b · MM/GBSA turns the physics score into a pActivity with an
honest uncertainty (ordinary least squares: parameter standard errors and the
prediction interval of a new point, plus the MM/GBSA standard error carried through the
slope). The calibrated value then stands in for raw MM/GBSA as physics evidence in the
score (``DesirabilitySpec.replaces``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import pearsonr

from ranking.derive import normalize_qualifier
from ranking.settings import CalibrationSettings

CALIBRATED = "calibrated_physics_p"
CALIBRATED_SD = "calibrated_physics_sd"


@dataclass(slots=True, frozen=True)
class PhysicsCalibration:
    """A fitted (or refused) line pActivity = intercept + slope · physics.

    Attributes
    ----------
    used
        True when the calibrated values feed the score.
    message
        One line for the report: the fit, or why there is none
        (``"not calibrated: only k measured compounds have MD ..."``).
    n
        Compounds with both an exact measurement and a physics value.
    intercept, intercept_se, slope, slope_se
        Least-squares parameters and standard errors (NaN without a fit).
    r, r_p_value
        Pearson correlation between physics and pActivity and its two-sided p-value.
    loo_r, loo_rmse
        Leave-one-out Pearson R and RMSE (pActivity units) of the line's predictions of
        the fitted compounds: the calibration's own cross-validated error.
    residual_sd
        Residual standard deviation of the fit, pActivity units.
    physics_mean, physics_sxx
        Mean and sum of squared deviations of the fitted physics values (for intervals).
    physics_column
        Column that was calibrated.
    compound_ids
        Compounds the line was fitted on.
    """

    used: bool
    message: str
    n: int
    intercept: float = math.nan
    intercept_se: float = math.nan
    slope: float = math.nan
    slope_se: float = math.nan
    r: float = math.nan
    r_p_value: float = math.nan
    residual_sd: float = math.nan
    physics_mean: float = math.nan
    physics_sxx: float = math.nan
    physics_column: str = "mmgbsa_kcal_mol"
    compound_ids: tuple[str, ...] = ()
    loo_r: float = math.nan
    loo_rmse: float = math.nan

    def predict(self, physics: np.ndarray, physics_sem: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated pActivity and its predictive SD for physics values.

        The SD is that of a new observation, s²(1 + 1/n + (x - x̄)²/Sxx), plus the
        physics value's own standard error scaled by the slope.
        """
        x = np.asarray(physics, dtype=float)
        mean = self.intercept + self.slope * x
        var = self.residual_sd ** 2 * (1 + 1 / self.n + (x - self.physics_mean) ** 2
                                       / self.physics_sxx)
        if physics_sem is not None:
            sem = np.nan_to_num(np.asarray(physics_sem, dtype=float), nan=0.0)
            var = var + (self.slope * sem) ** 2
        return mean, np.sqrt(var)

    def to_dict(self) -> dict:
        """JSON-able summary."""
        out = asdict(self)
        out["compound_ids"] = list(self.compound_ids)
        return out


def _column(table: pd.DataFrame, name: str | None) -> pd.Series:
    if name is None or name not in table.columns:
        return pd.Series(np.nan, index=table.index, dtype=float)
    return pd.to_numeric(table[name], errors="coerce")


def _ols(x: np.ndarray, y: np.ndarray) -> dict:
    n = len(x)
    x_mean, y_mean = x.mean(), y.mean()
    sxx = float(((x - x_mean) ** 2).sum())
    slope = float(((x - x_mean) * (y - y_mean)).sum() / sxx)
    intercept = float(y_mean - slope * x_mean)
    sse = float(((y - intercept - slope * x) ** 2).sum())
    s = math.sqrt(sse / (n - 2)) if n > 2 else math.nan
    return {"intercept": intercept, "slope": slope, "residual_sd": s,
            "slope_se": s / math.sqrt(sxx),
            "intercept_se": s * math.sqrt(1 / n + x_mean ** 2 / sxx),
            "physics_mean": float(x_mean), "physics_sxx": sxx}


def _leave_one_out(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Pearson R and RMSE of each point predicted by the line fitted on the others."""
    if len(x) < 4:
        return math.nan, math.nan
    pred = np.empty(len(x))
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        if np.ptp(x[keep]) == 0:
            return math.nan, math.nan
        fit = _ols(x[keep], y[keep])
        pred[i] = fit["intercept"] + fit["slope"] * x[i]
    r = float(np.corrcoef(pred, y)[0, 1]) if np.ptp(pred) > 0 else math.nan
    return r, float(np.sqrt(np.mean((pred - y) ** 2)))


UNTRUSTED_POSES = {"failed", "unchecked"}  # simulation.plausibility verdicts that never count as passed


def _pose_trusted(table: pd.DataFrame) -> pd.Series:
    """False where the simulated pose failed its checks or could not be checked (fail closed)."""
    if "pose_check_status" not in table.columns:
        return pd.Series(True, index=table.index)
    return ~table["pose_check_status"].astype(str).isin(UNTRUSTED_POSES)


def fit_physics_calibration(table: pd.DataFrame,
                            settings: CalibrationSettings | None = None) -> PhysicsCalibration:
    """Fit pActivity ≈ a + b · physics on the series' measured, simulated compounds.

    Compounds whose pose is ``unchecked`` or ``failed`` (``pose_check_status``) are left
    out: a check that could not run never counts as passed.

    Parameters
    ----------
    table
        Merged candidate table with ``measured_p_activity`` (``measured_qualifier``
        optional; censored values are left out) and the physics column.
    settings
        Physics column, minimum number of compounds, expected slope sign.

    Returns
    -------
    PhysicsCalibration
        ``used=False`` with the reason when there are too few compounds, the physics
        values do not vary, or the slope has the wrong sign.
    """
    settings = settings or CalibrationSettings()
    label = "MM/GBSA" if settings.physics_column == "mmgbsa_kcal_mol" else settings.physics_column
    x = _column(table, settings.physics_column)
    y = _column(table, "measured_p_activity")
    qualifier = (table["measured_qualifier"].map(normalize_qualifier)
                 if "measured_qualifier" in table.columns else pd.Series("=", index=table.index))
    both = x.notna() & y.notna() & (qualifier == "=") & _pose_trusted(table)
    n = int(both.sum())
    base = {"n": n, "physics_column": settings.physics_column,
            "compound_ids": tuple(table.loc[both, "compound_id"].astype(str))}
    if not settings.enabled:
        return PhysicsCalibration(False, "not calibrated: calibration switched off", **base)
    if n < settings.min_compounds:
        return PhysicsCalibration(
            False, f"not calibrated: only {n} measured compound{'s' * (n != 1)} "
                   f"{'have' if n != 1 else 'has'} {label} (needs {settings.min_compounds})",
            **base)
    xs, ys = x[both].to_numpy(dtype=float), y[both].to_numpy(dtype=float)
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return PhysicsCalibration(False, f"not calibrated: {label} or pActivity does not vary "
                                         f"over the {n} compounds", **base)
    fit = _ols(xs, ys)
    r, p_value = pearsonr(xs, ys)
    loo_r, loo_rmse = _leave_one_out(xs, ys)
    fit.update(r=float(r), r_p_value=float(p_value), loo_r=loo_r, loo_rmse=loo_rmse)
    line = (f"pActivity = {fit['intercept']:.2f} ± {fit['intercept_se']:.2f} "
            f"{'+' if fit['slope'] >= 0 else '−'} {abs(fit['slope']):.3f} ± {fit['slope_se']:.3f} "
            f"× {label}; n = {n}, leave-one-out R = {loo_r:+.2f} (RMSE {loo_rmse:.2f}), "
            f"fit R = {r:+.2f} (p = {p_value:.2g}), residual SD {fit['residual_sd']:.2f}")
    expected = settings.expected_slope_sign
    if expected and np.sign(fit["slope"]) != expected:
        return PhysicsCalibration(False, f"not calibrated: {label} does not track measured "
                                         f"activity in this series ({line})", **base, **fit)
    # NaN (too few to cross-validate) is too weak as well, unless the check is off (-1).
    if settings.min_loo_r > -1.0 and not loo_r >= settings.min_loo_r:
        return PhysicsCalibration(False, f"not calibrated: too weak to use, leave-one-out R "
                                         f"{loo_r:+.2f} < {settings.min_loo_r:.2f} ({line})",
                                  **base, **fit)
    return PhysicsCalibration(True, f"calibrated: {line}", **base, **fit)


def apply_physics_calibration(table: pd.DataFrame, settings: CalibrationSettings | None = None
                              ) -> tuple[pd.DataFrame, PhysicsCalibration]:
    """Add ``calibrated_physics_p`` and ``calibrated_physics_sd`` to every simulated compound.

    A compound the line was fitted on gets its leave-one-out prediction (when at least
    four compounds are in the fit), so its physics evidence is not its own measurement
    echoed back. Both columns stay NaN when the calibration is not used.

    Returns
    -------
    tuple
        ``(table copy with the two columns, PhysicsCalibration)``.
    """
    settings = settings or CalibrationSettings()
    calibration = fit_physics_calibration(table, settings)
    out = table.copy()
    out[CALIBRATED] = np.nan
    out[CALIBRATED_SD] = np.nan
    if not calibration.used:
        return out, calibration
    x = _column(out, settings.physics_column)
    sem = _column(out, settings.physics_sem_column)
    has_x = x.notna() & _pose_trusted(out)  # an unchecked or failed pose gives no evidence
    mean, sd = calibration.predict(x[has_x].to_numpy(), sem[has_x].to_numpy())
    out.loc[has_x, CALIBRATED] = mean
    out.loc[has_x, CALIBRATED_SD] = sd
    fitted = out["compound_id"].astype(str).isin(calibration.compound_ids)
    if calibration.n >= 4:
        for idx in out.index[fitted]:
            rest = out.drop(index=idx)
            loo = fit_physics_calibration(rest, settings.model_copy(
                update={"min_compounds": 3, "expected_slope_sign": 0, "min_loo_r": -1.0}))
            m, s = loo.predict(np.array([x[idx]]), np.array([sem[idx]]))
            out.loc[idx, [CALIBRATED, CALIBRATED_SD]] = [float(m[0]), float(s[0])]
    return out, calibration
