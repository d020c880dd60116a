"""One potency estimate per compound: measurement, prediction and calibrated physics combined.

Each source of potency evidence is read as a Normal in pActivity units:

* **measurement** -- the mean of ``n`` replicates, with the SD of that *mean*: the
  compound's replicate SD shrunk towards the assay's typical replicate SD (a scaled
  inverse-chi² prior with ``replicate_prior_df`` degrees of freedom), divided by √n. Two
  agreeing replicates therefore do not give σ ≈ 0. The typical SD is the series' pooled
  replicate SD once it rests on enough degrees of freedom, else ``default_measured_sd``.
* **prediction** -- ``pred_p_activity`` with σ read from the model's calibrated interval
  (the 80 % and 90 % half-widths divided by their Normal quantiles, averaged), falling
  back on ``pred_std``; floored at the assay's typical replicate SD (and ``min_pred_sd``):
  a model trained on measurements cannot know a potency better than one measurement
  does, so it is never 0 and never sharper than the assay. For a measured compound only
  an out-of-fold prediction (``oof_pred_p_activity``) counts: an in-sample prediction
  would be the measurement echoed back.
* **physics** -- ``calibrated_physics_p`` ± ``calibrated_physics_sd`` from the
  per-series calibration (:mod:`ranking.calibrate`), never raw kcal/mol.

The estimate is the inverse-variance weighted mean of the sources present. A censored
measurement ('>' or '<') is not a value: the combination of the other sources (or the
series prior) is truncated at its bound. A compound with no source gets the series prior
(mean and SD of the exactly measured compounds) and says so. The result is a truncated
Normal per compound (``activity_loc``, ``activity_scale``, ``activity_lo``,
``activity_hi``) whose mean and SD are ``activity_p`` and ``activity_sd``; every gate
probability and the next-batch acquisition read these same columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm, truncnorm

from ranking.derive import normalize_qualifier
from ranking.settings import RankSettings

Z80, Z90 = norm.ppf(0.9), norm.ppf(0.95)
POTENCY_COLUMNS = ["activity_p", "activity_sd", "activity_source", "activity_qualifier",
                   "activity_loc", "activity_scale", "activity_lo", "activity_hi",
                   "activity_evidence", "measured_sd_of_mean", "pred_sd_calibrated"]


def _num(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def typical_replicate_sd(table: pd.DataFrame, default: float, min_df: int = 5) -> float:
    """The assay's typical replicate SD: pooled over compounds with ≥ 2 replicates.

    Returns ``default`` when the pooled estimate rests on fewer than ``min_df`` degrees of
    freedom (Σ (n − 1)).
    """
    sd, n = _num(table, "measured_sd"), _num(table, "measured_n")
    ok = np.isfinite(sd) & (sd > 0) & np.isfinite(n) & (n >= 2)
    dof = float((n[ok] - 1).sum())
    if dof < min_df:
        return float(default)
    return float(np.sqrt(((n[ok] - 1) * sd[ok] ** 2).sum() / dof))


def sd_of_mean(sd: np.ndarray, n: np.ndarray, typical_sd: float, prior_df: float) -> np.ndarray:
    """SD of a replicate mean, the replicate SD shrunk towards ``typical_sd``.

    s²ₛ = (ν₀ τ² + (n − 1) s²) / (ν₀ + n − 1), σ = sₛ / √n; a missing SD or count reads as
    one replicate (σ = τ).
    """
    n = np.where(np.isfinite(n) & (n >= 1), n, 1.0)
    s2 = np.where(np.isfinite(sd) & (n >= 2), np.nan_to_num(sd) ** 2, 0.0)
    dof = np.where(np.isfinite(sd) & (n >= 2), n - 1, 0.0)
    shrunk = (prior_df * typical_sd ** 2 + dof * s2) / (prior_df + dof)
    return np.sqrt(shrunk / n)


def interval_sd(table: pd.DataFrame, prefix: str = "", floor: float = 0.1) -> np.ndarray:
    """Predictive SD from the calibrated 80 %/90 % intervals, else ``pred_std``; ≥ ``floor``."""
    widths = []
    for z, lo, hi in ((Z80, "lower_80", "upper_80"), (Z90, "lower_90", "upper_90")):
        w = (_num(table, prefix + hi) - _num(table, prefix + lo)) / (2 * z)
        widths.append(np.where(w > 0, w, np.nan))
    stacked = np.vstack(widths)
    count = np.isfinite(stacked).sum(axis=0)
    from_interval = np.where(count > 0, np.nansum(stacked, axis=0) / np.maximum(count, 1), np.nan)
    std_name = f"{prefix}pred_std"
    sd = np.where(np.isfinite(from_interval), from_interval, _num(table, std_name))
    return np.where(np.isfinite(sd), np.maximum(sd, floor), np.nan)


def series_prior(table: pd.DataFrame, settings: RankSettings) -> tuple[float, float, str]:
    """(mean, SD, description) of the potency prior: the exactly measured series, else the default."""
    y = _num(table, "measured_p_activity")
    qualifier = (table["measured_qualifier"].map(normalize_qualifier).to_numpy()
                 if "measured_qualifier" in table.columns else np.full(len(table), "="))
    exact = y[np.isfinite(y) & (qualifier == "=")]
    p = settings.potency
    if len(exact) >= p.prior_min_measured and np.std(exact, ddof=1) > 0:
        return float(exact.mean()), float(np.std(exact, ddof=1)), f"series prior (n {len(exact)})"
    return p.prior_mean, p.prior_sd, "default prior"


def _combine(means: list[np.ndarray], sds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-variance mean and SD over the sources present (NaN where none is)."""
    m, s = np.vstack(means), np.vstack(sds)
    ok = np.isfinite(m) & np.isfinite(s) & (s > 0)
    w = np.where(ok, 1.0 / np.where(ok, s, 1.0) ** 2, 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * np.where(ok, m, 0.0)).sum(axis=0) / total
        sd = 1.0 / np.sqrt(total)
    return np.where(total > 0, mean, np.nan), np.where(total > 0, sd, np.nan)


def add_potency_estimate(table: pd.DataFrame, settings: RankSettings | None = None) -> pd.DataFrame:
    """Return a copy with one potency estimate per compound (see the module docstring).

    Parameters
    ----------
    table
        Merged candidate table; any of ``measured_p_activity``, ``measured_sd``,
        ``measured_n``, ``measured_qualifier``, ``pred_p_activity``, ``pred_std``,
        ``lower_80``..``upper_90``, ``oof_pred_p_activity`` (+ its interval),
        ``calibrated_physics_p``/``_sd``.
    settings
        Potency settings and ``default_measured_sd``.

    Returns
    -------
    pandas.DataFrame
        The input columns plus :data:`POTENCY_COLUMNS`. ``activity_source`` names the
        strongest evidence: ``"measured"``, ``"predicted"``, ``"physics"`` or ``"prior"``;
        ``activity_evidence`` lists every source used with its value and SD.
    """
    settings = settings or RankSettings()
    ps = settings.potency
    out = table.copy()
    n = len(out)
    measured = _num(out, "measured_p_activity")
    qualifier = (out["measured_qualifier"].map(normalize_qualifier).to_numpy(dtype=object)
                 if "measured_qualifier" in out.columns else np.full(n, "=", dtype=object))
    qualifier = np.where(np.isfinite(measured), qualifier, "=")
    has_meas = np.isfinite(measured)
    exact = has_meas & (qualifier == "=")
    tau = typical_replicate_sd(out, settings.default_measured_sd, ps.min_pooled_replicates)
    meas_sd = np.where(has_meas, sd_of_mean(_num(out, "measured_sd"), _num(out, "measured_n"),
                                            tau, ps.replicate_prior_df), np.nan)

    # A model trained on measurements cannot know a potency better than one measurement
    # does: an interval narrower than the assay's noise is read at the noise.
    floor = max(ps.min_pred_sd, tau)
    pred, pred_sd = _num(out, "pred_p_activity"), interval_sd(out, "", floor)
    oof, oof_sd = _num(out, "oof_pred_p_activity"), interval_sd(out, "oof_", floor)
    # A measured compound's own in-sample prediction would echo its measurement.
    pred_use = np.where(has_meas, oof, pred)
    pred_use_sd = np.where(has_meas, oof_sd, pred_sd)
    phys = _num(out, "calibrated_physics_p") if ps.use_physics else np.full(n, np.nan)
    phys_sd = _num(out, "calibrated_physics_sd") if ps.use_physics else np.full(n, np.nan)

    prior_mean, prior_sd, prior_label = series_prior(out, settings)
    others_mean, others_sd = _combine([pred_use, phys], [pred_use_sd, phys_sd])
    mean, sd = _combine([np.where(exact, measured, np.nan), pred_use, phys],
                        [meas_sd, pred_use_sd, phys_sd])
    no_source = ~np.isfinite(mean)
    mean = np.where(no_source, prior_mean, mean)
    sd = np.where(no_source, prior_sd, sd)
    # Censored: the other evidence (or the prior) truncated at the measured bound.
    censored = has_meas & ~exact
    loc = np.where(censored, np.where(np.isfinite(others_mean), others_mean, prior_mean), mean)
    scale = np.where(censored, np.where(np.isfinite(others_sd), others_sd, prior_sd), sd)
    lo = np.where(censored & (qualifier == ">"), measured, -np.inf)
    hi = np.where(censored & (qualifier == "<"), measured, np.inf)
    a, b = (lo - loc) / scale, (hi - loc) / scale
    t_mean, t_var = truncnorm.stats(a, b, loc=loc, scale=scale, moments="mv")
    out["activity_loc"], out["activity_scale"] = loc, scale
    out["activity_lo"], out["activity_hi"] = lo, hi
    out["activity_p"] = np.asarray(t_mean, dtype=float)
    out["activity_sd"] = np.sqrt(np.asarray(t_var, dtype=float))
    out["activity_qualifier"] = qualifier
    out["measured_sd_of_mean"] = meas_sd
    out["pred_sd_calibrated"] = pred_sd
    source = np.where(has_meas, "measured", np.where(np.isfinite(pred_use), "predicted",
                      np.where(np.isfinite(phys), "physics", "prior")))
    out["activity_source"] = source
    out["activity_evidence"] = [
        _evidence_text(i, measured, qualifier, meas_sd, _num(out, "measured_n"), pred_use,
                       pred_use_sd, has_meas, phys, phys_sd, no_source, prior_label,
                       out["activity_p"].to_numpy(), out["activity_sd"].to_numpy())
        for i in range(n)]
    return out


def _evidence_text(i, measured, qualifier, meas_sd, meas_n, pred, pred_sd, has_meas, phys,
                   phys_sd, no_source, prior_label, p, sd) -> str:
    parts = []
    if has_meas[i]:
        reps = f", n {int(meas_n[i])}" if np.isfinite(meas_n[i]) else ""
        if qualifier[i] == "=":
            parts.append(f"measured {measured[i]:.2f} ± {meas_sd[i]:.2f}{reps}")
        else:
            parts.append(f"measured {qualifier[i]} {measured[i]:.2f} (censored{reps})")
    if np.isfinite(pred[i]):
        parts.append(f"{'out-of-fold ' if has_meas[i] else ''}predicted {pred[i]:.2f} ± "
                     f"{pred_sd[i]:.2f}")
    if np.isfinite(phys[i]):
        parts.append(f"calibrated physics {phys[i]:.2f} ± {phys_sd[i]:.2f}")
    if no_source[i] and not has_meas[i]:
        parts.append(f"no evidence: {prior_label}")
    elif no_source[i]:
        parts.append(prior_label)
    return f"{'; '.join(parts)} → {p[i]:.2f} ± {sd[i]:.2f}"
