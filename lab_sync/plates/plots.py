"""SVG figures of plates and curves (matplotlib, no pyplot state, safe in server threads).

- :func:`curve_svg`: a compound's points (% inhibition vs concentration), the fitted curve, the IC50
  with its 95 % CI as a bar, masked wells drawn as crosses;
- :func:`plate_heatmap_svg`: raw signal per well on the plate grid, controls outlined, masked
  wells crossed, Z' in the title.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.figure import Figure

from lab_sync.plates.curve_fit import logistic
from lab_sync.plates.wells import LAYOUTS


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    return buf.getvalue()


def curve_svg(points: list[dict], fit: dict, title: str = "") -> str:
    """SVG of one curve.

    Parameters
    ----------
    points
        ``{"conc_nm", "pct_inhibition", "masked", "reason"}`` per well.
    fit
        ``bottom, top, ic50_nm, hill`` and optional ``ci_low_nm, ci_high_nm, curve_class, qualifier``.
    title
        Shown above the plot (e.g. compound and plate id).
    """
    fig = Figure(figsize=(4.2, 3.0), dpi=72)
    ax = fig.add_subplot()
    conc = np.array([p["conc_nm"] for p in points], float)
    y = np.array([p["pct_inhibition"] for p in points], float)
    masked = np.array([bool(p["masked"]) for p in points])
    ax.scatter(conc[~masked], y[~masked], s=18, color="#23395d", label="wells", zorder=3)
    if masked.any():
        ax.scatter(conc[masked], y[masked], s=40, marker="x", color="#b3261e", label="masked", zorder=3)
    lo, hi = math.log10(conc.min()) - 0.3, math.log10(conc.max()) + 0.3
    xs = np.linspace(lo, hi, 200)
    if fit.get("ic50_nm"):
        log_ic50 = math.log10(fit["ic50_nm"])
        ax.plot(10 ** xs, logistic(xs, fit["bottom"], fit["top"], log_ic50, fit["hill"]), color="#1f7a3a",
                label="fit")
        mid = (fit["bottom"] + fit["top"]) / 2
        ci_lo, ci_hi = fit.get("ci_low_nm"), fit.get("ci_high_nm")
        if ci_lo and ci_hi and math.isfinite(ci_hi):
            ax.plot([max(ci_lo, 10 ** lo), min(ci_hi, 10 ** hi)], [mid, mid], color="#e08a00", lw=3, alpha=.7,
                    label="IC50 95 % CI")
        ax.axvline(fit["ic50_nm"], color="#e08a00", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(10 ** lo, 10 ** hi)
    ax.set_ylim(min(-20.0, float(np.nanmin(y)) - 5), max(120.0, float(np.nanmax(y)) + 5))
    ax.set_xlabel("concentration (nM)")
    ax.set_ylabel("% inhibition")
    label = fit.get("curve_class", "")
    if fit.get("qualifier") and fit.get("reported_ic50_nm"):
        label += f": IC50 {fit['qualifier']} {fit['reported_ic50_nm']:.3g} nM"
    ax.set_title(f"{title}\n{label}".strip(), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    ax.grid(alpha=.3)
    return _svg(fig)


def plate_heatmap_svg(wells: list[dict], n_wells: int, title: str = "") -> str:
    """SVG heat map of a plate's raw signals.

    ``wells``: ``{"row", "col", "signal", "well_type", "masked"}`` (0-based row and column).
    """
    layout = LAYOUTS[n_wells]
    grid = np.full((layout.n_rows, layout.n_cols), np.nan)
    for w in wells:
        grid[w["row"], w["col"]] = w["signal"]
    fig = Figure(figsize=(0.28 * layout.n_cols + 1.8, 0.28 * layout.n_rows + 1.0), dpi=72)
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="viridis", aspect="equal")
    fig.colorbar(im, ax=ax, label="raw signal", shrink=.8)
    for w in wells:
        if w["well_type"] in ("high", "low"):
            ax.add_patch(_box(w["row"], w["col"], "#ffffff" if w["well_type"] == "high" else "#ff6f61"))
        if w["masked"]:
            ax.plot(w["col"], w["row"], marker="x", color="#ff2d2d", ms=6, mew=1.5)
    ax.set_xticks(range(layout.n_cols), [str(c + 1) for c in range(layout.n_cols)], fontsize=6)
    ax.set_yticks(range(layout.n_rows), [chr(65 + r) for r in range(layout.n_rows)], fontsize=6)
    ax.set_title(title + "\n(white box: high control, red box: low control, x: masked)", fontsize=8)
    return _svg(fig)


def _box(row: int, col: int, color: str):
    from matplotlib.patches import Rectangle

    return Rectangle((col - .5, row - .5), 1, 1, fill=False, edgecolor=color, lw=1)
