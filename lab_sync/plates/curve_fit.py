"""Dose-response fits: 4-parameter logistic (3-parameter with a fixed plateau when the data demand
it), outlier masking with recorded reasons, and a Wald confidence interval for the IC50.

The model, in % inhibition against x = log10(concentration / nM)::

    y = bottom + (top - bottom) / (1 + 10 ** (hill * (log_ic50 - x)))

Fitting uses :func:`scipy.optimize.least_squares` with bounds:

1. a robust fit (``soft_l1`` loss) finds the curve the bulk of the wells agree on;
2. wells whose residual exceeds both ``outlier_robust_sd`` robust SDs (1.4826 · MAD of the
   residuals) and ``outlier_min_pct`` % are masked, worst first, at most ``max_masked_fraction``
   of the curve, each with its reason;
3. an ordinary least-squares fit on the kept wells gives the parameters. When its IC50 lies within
   one dilution step of the top (bottom) concentration, or the fitted plateau runs into its bound,
   the upper (lower) plateau is not defined by the data, so it is fixed at the control value
   (top 100 %, bottom 0 %) and the curve refitted (3PL);
4. the 95 % CI of log10 IC50 is Wald's: the parameter covariance s² (JᵀJ)⁻¹ at the optimum with a
   t quantile on n − p degrees of freedom, holding a parameter that ended at its bound fixed;
   undefined (0, inf) when log IC50 itself sits at its bound.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import t as student_t

from lab_sync.plates.settings import PlateSettings

_NAMES = ("bottom", "top", "log_ic50", "hill")


@dataclass(slots=True)
class CurveFit:
    """A fitted dose-response curve (concentrations in nM, responses in % inhibition)."""

    model: str                 # "4PL" | "3PL (top fixed at 100 %)" | "3PL (bottom fixed at 0 %)"
    log_ic50: float            # log10 IC50 / nM
    ic50_nm: float
    ci_low_nm: float           # 95 % Wald CI of the IC50 (inf / 0 when undefined)
    ci_high_nm: float
    hill: float
    top: float
    bottom: float
    r2: float
    rmse: float
    n_points: int              # wells used
    mask: list[bool]           # per input point: True = masked
    masked: list[tuple[int, str]] = field(default_factory=list)  # (input index, reason)
    log_conc_min: float = math.nan
    log_conc_max: float = math.nan
    log_step: float = math.nan  # median dilution step (log10)

    def predict(self, conc_nm: np.ndarray | float) -> np.ndarray:
        return logistic(np.log10(np.asarray(conc_nm, float)), self.bottom, self.top, self.log_ic50, self.hill)

    def to_dict(self) -> dict:
        return asdict(self)


def logistic(x: np.ndarray, bottom: float, top: float, log_ic50: float, hill: float) -> np.ndarray:
    """% inhibition at log10 concentration ``x``."""
    return bottom + (top - bottom) / (1.0 + 10.0 ** (hill * (log_ic50 - x)))


def _jacobian(x: np.ndarray, bottom: float, top: float, log_ic50: float, hill: float) -> np.ndarray:
    """d y / d (bottom, top, log_ic50, hill), columns in that order."""
    e = 10.0 ** np.clip(hill * (log_ic50 - x), -300, 300)
    s = 1.0 / (1.0 + e)
    ds_du = -math.log(10.0) * e * s * s  # u = hill * (log_ic50 - x)
    span = top - bottom
    return np.column_stack([1.0 - s, s, span * ds_du * hill, span * ds_du * (log_ic50 - x)])


def _solve(x, y, p0, free, fixed, bounds, loss):
    free_idx = [i for i in range(4) if free[i]]

    def full(q):
        p = np.array(fixed, float)
        p[free_idx] = q
        return p

    res = least_squares(lambda q: logistic(x, *full(q)) - y, np.asarray(p0, float)[free_idx],
                        jac=lambda q: _jacobian(x, *full(q))[:, free_idx],
                        bounds=(np.asarray(bounds[0])[free_idx], np.asarray(bounds[1])[free_idx]),
                        loss=loss, f_scale=10.0, method="trf", max_nfev=200)
    return full(res.x), res


def _start(x: np.ndarray, y: np.ndarray) -> list[float]:
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    lo, hi = float(np.mean(ys[:2])), float(np.mean(ys[-2:]))
    if hi - lo < 20:
        lo, hi = 0.0, 100.0
    mid = (lo + hi) / 2
    above = np.nonzero(ys >= mid)[0]
    log_ic50 = float(xs[above[0]]) if len(above) else float(xs[-1]) + 0.5
    return [lo, hi, log_ic50, 1.0]


def fit_dose_response(conc_nm, response, settings: PlateSettings | None = None) -> CurveFit:
    """Fit one compound's curve.

    Parameters
    ----------
    conc_nm
        Concentrations (nM, > 0), one per well; replicate wells may share a concentration.
    response
        % inhibition per well.
    settings
        Outlier and model thresholds (defaults: :class:`PlateSettings`).

    Returns
    -------
    CurveFit
        Parameters, Wald CI of the IC50, R², and the wells masked as outliers with their reasons.
    """
    settings = settings or PlateSettings()
    x_all = np.log10(np.asarray(conc_nm, float))
    y_all = np.asarray(response, float)
    ux = np.unique(x_all)
    step = float(np.median(np.diff(ux))) if len(ux) > 1 else 0.5
    x_min, x_max = float(ux[0]), float(ux[-1])
    (b_lo, b_hi), (t_lo, t_hi), (h_lo, h_hi) = settings.bottom_bounds_pct, settings.top_bounds_pct, settings.hill_bounds
    bounds = ([b_lo, t_lo, x_min - 3.0, h_lo], [b_hi, t_hi, x_max + 3.0, h_hi])
    p0 = [float(np.clip(v, lo + 1e-6, hi - 1e-6)) for v, lo, hi in zip(_start(x_all, y_all), *bounds)]
    four = [True] * 4
    p_rob, res = _solve(x_all, y_all, p0, four, p0, bounds, "soft_l1")

    # Outliers: judged against the robust curve, worst first, within the allowed share.
    resid = y_all - logistic(x_all, *p_rob)
    sd = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    limit = max(settings.outlier_robust_sd * sd, settings.outlier_min_pct)
    mask = np.zeros(len(x_all), bool)
    masked: list[tuple[int, str]] = []
    budget = int(math.floor(settings.max_masked_fraction * len(x_all) + 1e-9))
    for i in np.argsort(-np.abs(resid))[:budget]:
        if abs(resid[i]) > limit:
            mask[i] = True
            masked.append((int(i), f"outlier: {resid[i]:+.0f} % from the robust fit "
                                   f"({abs(resid[i]) / max(sd, 1e-9):.1f} robust SDs; limit {limit:.0f} %)"))
    x, y = x_all[~mask], y_all[~mask]

    p, res = _solve(x, y, p_rob, four, p_rob, bounds, "linear")
    model, free = "4PL", four
    # A plateau is not defined by the data when the IC50 sits within a dilution step of that end
    # of the range, or when the fitted plateau runs into its bound.
    top_free = p[2] <= x_max - step and bounds[0][1] + 1e-3 < p[1] < bounds[1][1] - 1e-3
    bottom_free = p[2] >= x_min + step and bounds[0][0] + 1e-3 < p[0] < bounds[1][0] - 1e-3
    if len(np.unique(x)) <= 4 or not top_free:
        free, model = [True, False, True, True], "3PL (top fixed at 100 %)"
        fixed = [p[0], 100.0, p[2], p[3]]
    elif not bottom_free:
        free, model = [False, True, True, True], "3PL (bottom fixed at 0 %)"
        fixed = [0.0, p[1], p[2], p[3]]
    if model != "4PL":
        start = [min(max(v, lo + 1e-6), hi - 1e-6) for v, lo, hi in zip(fixed, *bounds)]
        p, res = _solve(x, y, start, free, start, bounds, "linear")

    fitted = logistic(x, *p)
    ssr = float(np.sum((y - fitted) ** 2))
    sst = float(np.sum((y - y.mean()) ** 2))
    # Wald interval conditional on any parameter that ended at its bound (held there like a fixed
    # one); when log IC50 itself sits at its bound the interval is undefined (0, inf).
    free_idx = [i for i in range(4) if free[i]]
    at_bound = {i for i, a in zip(free_idx, res.active_mask) if a != 0}
    use = [i for i in free_idx if i not in at_bound]
    dof = len(y) - len(use)
    lo_ci, hi_ci = 0.0, math.inf
    if dof > 0 and 2 in use:
        jac = _jacobian(x, *p)[:, use]
        cov = np.linalg.pinv(jac.T @ jac) * ssr / dof
        k = use.index(2)
        se = math.sqrt(max(float(cov[k, k]), 0.0))
        half = float(student_t.ppf(0.975, dof)) * se
        if math.isfinite(half) and half < 10:
            lo_ci, hi_ci = 10 ** (p[2] - half), 10 ** (p[2] + half)
    return CurveFit(model=model, log_ic50=float(p[2]), ic50_nm=float(10 ** p[2]), ci_low_nm=lo_ci,
                    ci_high_nm=hi_ci, hill=float(p[3]), top=float(p[1]), bottom=float(p[0]),
                    r2=1.0 - ssr / sst if sst > 0 else 0.0, rmse=math.sqrt(ssr / len(y)), n_points=int(len(y)),
                    mask=mask.tolist(), masked=masked, log_conc_min=x_min, log_conc_max=x_max, log_step=step)
