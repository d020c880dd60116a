"""Curve classes and QC flags, and the potency each class may claim.

Classes (the tested range is [lowest, top] concentration, one dilution step = the plate's factor):

- ``complete``: IC50 at least one dilution step inside the tested range -> exact ``IC50 = x``;
- ``incomplete``: IC50 within one step of the top concentration or above it (the full-inhibition
  plateau is missing) -> censored ``IC50 > top concentration`` when the curve has not reached 50 %
  there, else ``IC50 > top / step`` (the data say no more);
- ``inactive``: the fit stays below ``inactive_max_pct`` % at the top concentration -> ``> top``;
- ``below_range``: IC50 within one step of the lowest concentration or below it -> censored
  ``IC50 < lowest`` (or ``< lowest · step``);
- ``poor_fit``: an in-range curve with R² below ``r2_min`` or a CI wider than ``ci_max_log_width``
  -> no potency is stored (the curve is kept for review).

Flags: ``shallow`` / ``steep`` Hill slope, ``outliers_masked``, ``3PL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab_sync.plates.curve_fit import CurveFit, logistic
from lab_sync.plates.settings import PlateSettings

CLASSES = ("complete", "incomplete", "inactive", "below_range", "poor_fit")


@dataclass(slots=True)
class CurveCall:
    """A curve's class, flags and the potency it supports (None for poor fits)."""

    curve_class: str
    qualifier: str | None      # "=", ">", "<" on the IC50 scale
    ic50_nm: float | None
    flags: list[str] = field(default_factory=list)


def classify_curve(fit: CurveFit, settings: PlateSettings | None = None) -> CurveCall:
    """Class, flags and reportable IC50 (nM) of a fitted curve."""
    s = settings or PlateSettings()
    x_min, x_max, step = fit.log_conc_min, fit.log_conc_max, fit.log_step
    flags = []
    if fit.masked:
        flags.append("outliers_masked")
    if fit.model != "4PL":
        flags.append("3PL")
    at_top = float(logistic(x_max, fit.bottom, fit.top, fit.log_ic50, fit.hill))
    if at_top < s.inactive_max_pct:
        return CurveCall("inactive", ">", 10 ** x_max, flags)
    if fit.log_ic50 > x_max - step:
        bound = x_max if fit.log_ic50 >= x_max else x_max - step
        return CurveCall("incomplete", ">", 10 ** bound, flags)
    if fit.hill < s.hill_shallow:
        flags.append("shallow")
    elif fit.hill > s.hill_steep:
        flags.append("steep")
    if fit.log_ic50 < x_min + step:
        bound = x_min if fit.log_ic50 <= x_min else x_min + step
        return CurveCall("below_range", "<", 10 ** bound, flags)
    wide = fit.ci_high_nm == float("inf") or (fit.ci_high_nm / fit.ic50_nm) > 10 ** s.ci_max_log_width
    if fit.r2 < s.r2_min or wide:
        return CurveCall("poor_fit", None, None, flags)
    return CurveCall("complete", "=", fit.ic50_nm, flags)
