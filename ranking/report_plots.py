"""Report plots as inline SVG strings.

Figures are built with the object API on an Agg canvas, so nothing needs a display
and pyplot's global backend (a notebook's, say) is left alone. Each function returns
``None`` when the table has nothing to show, so the report can say so instead of
drawing an empty frame. Every axis names its unit (pActivity is −log₁₀ of the molar
activity; scores and fractions say they are unitless, 0–1). Point labels are placed by
:func:`place_labels`, which tries positions around each point and leaves a label out
rather than draw it over another label.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_DECISION_COLORS = {"advance": "#1a7f37", "hold": "#bf8700", "deprioritize": "#8c959f"}
P_UNIT = "−log₁₀ M"
#: Offsets (points) tried around a point for its label, nearest first; (ha, va) of the text for each.
_LABEL_OFFSETS = [((4, 4), ("left", "bottom")), ((4, -4), ("left", "top")), ((-4, 4), ("right", "bottom")),
                  ((-4, -4), ("right", "top")), ((0, 8), ("center", "bottom")), ((0, -8), ("center", "top")),
                  ((10, 12), ("left", "bottom")), ((-10, -12), ("right", "top")), ((10, -12), ("left", "top")),
                  ((-10, 12), ("right", "bottom")), ((0, 18), ("center", "bottom")), ((0, -18), ("center", "top"))]


def _numeric(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series(np.nan, index=table.index, dtype=float)
    return pd.to_numeric(table[column], errors="coerce")


def plain_text(value) -> str:
    """A label shown as typed: ``$`` would start matplotlib mathtext (``CPD-$x^$-2`` raises)."""
    return str(value).replace("$", r"\$")


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure on its own Agg canvas with constrained layout (one draw per save)."""
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _overlaps(box, boxes) -> bool:
    return any(box.x0 < b.x1 and b.x0 < box.x1 and box.y0 < b.y1 and b.y0 < box.y1 for b in boxes)


def place_labels(ax, xs, ys, labels, fontsize: float = 7, avoid: tuple | None = None) -> list:
    """Label points without overlaps: each label takes the first position around its point where
    it overlaps no label placed before it (nor a marker of ``avoid``, the ``(x, y)`` arrays of
    every plotted point) and stays inside the axes; a label with no such position is left out.
    Returns the annotations drawn (in the order of ``labels``).

    The figure is laid out once first and its layout then frozen, so the positions checked are
    the positions saved.
    """
    fig = ax.figure
    fig.canvas.draw()
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    placed, boxes = [], []
    markers = []
    if avoid is not None:
        from matplotlib.transforms import Bbox

        pts = np.column_stack([np.asarray(avoid[0], float), np.asarray(avoid[1], float)])
        pts = ax.transData.transform(pts[np.isfinite(pts).all(axis=1)]) if len(pts) else pts
        radius = 3.0 * fig.dpi / 72.0  # a marker's half-width, in pixels
        markers = [Bbox([[px - radius, py - radius], [px + radius, py + radius]]) for px, py in pts]
    for x, y, text in zip(xs, ys, labels):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        for offset, (ha, va) in _LABEL_OFFSETS:
            note = ax.annotate(plain_text(text), (x, y), xytext=offset, textcoords="offset points",
                               fontsize=fontsize, ha=ha, va=va)
            box = note.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not _overlaps(box, boxes) and not _overlaps(box, markers):
                placed.append(note)
                boxes.append(box)
                break
            note.remove()
    return placed


def figure_to_svg(fig: Figure, name: str) -> str:
    """Serialize a figure as inline SVG: text kept as text, no prologue or metadata."""
    buffer = io.StringIO()
    # A per-plot salt keeps clip-path ids unique when several plots share one page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"moltwin-{name}"}):
        fig.savefig(buffer, format="svg")
    text = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    return _METADATA.sub("", text).strip()


def plot_predicted_vs_measured(table: pd.DataFrame) -> str | None:
    """Out-of-fold predicted vs measured pActivity with 80 % intervals; censored points as triangles.

    Only out-of-fold predictions (``oof_pred_p_activity``, ``oof_lower_80``, ``oof_upper_80``,
    written by the train-predict stage) are drawn: a model's prediction for its own
    training compound is a fit, not a test, and would flatter the model. Without them
    there is no plot (``None``).
    """
    prefix = "oof_"
    if not _numeric(table, "oof_pred_p_activity").notna().any():
        return None
    measured = _numeric(table, "measured_p_activity")
    predicted = _numeric(table, f"{prefix}pred_p_activity")
    both = measured.notna() & predicted.notna()
    if not both.any():
        return None
    qualifier = table.get("activity_qualifier", pd.Series("=", index=table.index))
    lower = _numeric(table, f"{prefix}lower_80").fillna(predicted)
    upper = _numeric(table, f"{prefix}upper_80").fillna(predicted)
    fig = new_figure(5.0, 4.4)
    ax = fig.add_subplot()
    markers = {"=": ("o", "measured"), "<": ("<", "censored: true value lower"),
               ">": (">", "censored: true value higher")}
    for q, (marker, label) in markers.items():
        sel = both & (qualifier == q)
        if not sel.any():
            continue
        yerr = np.vstack([(predicted - lower)[sel].clip(lower=0),
                          (upper - predicted)[sel].clip(lower=0)])
        ax.errorbar(measured[sel], predicted[sel], yerr=yerr, fmt=marker, ms=6, capsize=2,
                    elinewidth=0.8, alpha=0.85, label=label)
    lo = float(np.nanmin([measured[both].min(), lower[both].min()])) - 0.3
    hi = float(np.nanmax([measured[both].max(), upper[both].max()])) + 0.3
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1)
    ax.fill_between([lo, hi], [lo - 1, hi - 1], [lo + 1, hi + 1], color="0.85", alpha=0.5,
                    lw=0, label="±1 log unit")
    exact = both & (qualifier == "=")
    if exact.sum() >= 2:
        rmse = float(np.sqrt(np.mean((predicted[exact] - measured[exact]) ** 2)))
        inside = ((measured >= lower) & (measured <= upper))[exact].mean()
        ax.set_title(f"Out-of-fold RMSE {rmse:.2f} on {int(exact.sum())} exact points; "
                     f"{inside:.0%} inside 80 % interval", fontsize=9)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"measured pActivity ({P_UNIT})")
    ax.set_ylabel(f"predicted pActivity ({P_UNIT}), out of fold")
    ax.legend(fontsize=8, loc="upper left")
    return figure_to_svg(fig, "pred-vs-measured")


def plot_pareto(table: pd.DataFrame, max_labels: int = 8) -> str | None:
    """Potency vs developability, Pareto-front compounds outlined and labelled."""
    x = _numeric(table, "activity_p")
    y = _numeric(table, "developability")
    ok = x.notna() & y.notna()
    if not ok.any():
        return None
    decision = table.get("decision", pd.Series("hold", index=table.index))
    front = _numeric(table, "pareto_rank") == 1
    fig = new_figure(5.6, 4.4)
    ax = fig.add_subplot()
    for name, color in _DECISION_COLORS.items():
        sel = ok & (decision == name)
        if sel.any():
            ax.scatter(x[sel], y[sel], s=22, color=color, alpha=0.75, label=name, lw=0)
    sel = ok & front
    ax.scatter(x[sel], y[sel], s=60, facecolors="none", edgecolors="#0969da", lw=1.2,
               label="Pareto front (3 objectives)")
    ax.set_xlabel(f"pActivity ({P_UNIT}), measured else predicted")
    ax.set_ylabel("developability (0–1, unitless)")
    ax.set_ylim(-0.03, 1.05)
    ax.legend(fontsize=8, loc="lower left")
    labelled = table[sel].assign(_x=x[sel], _y=y[sel]).sort_values("_x", ascending=False).head(max_labels)
    place_labels(ax, labelled["_x"].to_numpy(float), labelled["_y"].to_numpy(float), labelled["compound_id"],
                 avoid=(x[ok].to_numpy(float), y[ok].to_numpy(float)))
    return figure_to_svg(fig, "pareto")


def plot_property_distributions(table: pd.DataFrame) -> str | None:
    """Histograms of potency and key physchem properties, advance compounds overlaid."""
    panels = [(c, label) for c, label in (("activity_p", f"pActivity ({P_UNIT})"), ("mw_da", "MW (Da)"),
                                          ("clogp", "cLogP (log₁₀ P, unitless)"), ("tpsa_a2", "TPSA (Å²)"),
                                          ("qed", "QED (0–1, unitless)"),
                                          ("sa_score", "SA score (1 easy – 10 hard)"))
              if _numeric(table, c).notna().any()]
    if not panels:
        return None
    decision = table.get("decision", pd.Series("", index=table.index))
    n_cols = 3
    n_rows = (len(panels) + n_cols - 1) // n_cols
    fig = new_figure(9.0, 2.5 * n_rows)
    for i, (column, label) in enumerate(panels):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        values = _numeric(table, column)
        bins = np.histogram_bin_edges(values.dropna(), bins=20)
        ax.hist(values.dropna(), bins=bins, color="#8c959f", label="all")
        advance = values[(decision == "advance") & values.notna()]
        if len(advance):
            ax.hist(advance, bins=bins, color="#1a7f37", label="advance")
        ax.set_xlabel(label, fontsize=9)
        if i % n_cols == 0:
            ax.set_ylabel("compounds (count)", fontsize=9)
        ax.tick_params(labelsize=8)
        if i == 0:
            ax.legend(fontsize=7)
    return figure_to_svg(fig, "properties")


def plot_simulation(table: pd.DataFrame, max_labels: int = 8) -> str | None:
    """MM/GBSA (± SEM) vs pose stability for simulated compounds, coloured by potency."""
    dg = _numeric(table, "mmgbsa_kcal_mol")
    stability = _numeric(table, "frac_frames_within_2A")
    ok = dg.notna() & stability.notna()
    if not ok.any():
        return None
    sem = _numeric(table, "mmgbsa_sem_kcal_mol").fillna(0.0)
    potency = _numeric(table, "activity_p")
    fig = new_figure(5.6, 4.2)
    ax = fig.add_subplot()
    ax.errorbar(dg[ok], stability[ok], xerr=sem[ok], fmt="none", ecolor="0.6", elinewidth=0.8)
    points = ax.scatter(dg[ok], stability[ok], c=potency[ok], cmap="viridis", s=36)
    fig.colorbar(points, ax=ax, label=f"pActivity ({P_UNIT})")
    ax.set_xlabel("MM/GBSA (kcal/mol, lower is better)")
    ax.set_ylabel("frames with ligand RMSD ≤ 2 Å (fraction, 0–1)")
    ax.set_ylim(-0.03, 1.05)
    best = table[ok].assign(_dg=dg[ok], _st=stability[ok]).sort_values("_dg", kind="mergesort").head(max_labels)
    place_labels(ax, best["_dg"].to_numpy(float), best["_st"].to_numpy(float), best["compound_id"],
                 avoid=(dg[ok].to_numpy(float), stability[ok].to_numpy(float)))
    return figure_to_svg(fig, "simulation")


def plot_rmsd_traces(traces: dict[str, pd.DataFrame], cutoff_A: float = 2.0) -> str | None:
    """Ligand RMSD from the starting pose over simulation time, one line per compound."""
    traces = {k: v for k, v in traces.items() if len(v)}
    if not traces:
        return None
    fig = new_figure(5.6, 4.2)
    ax = fig.add_subplot()
    for compound_id, frames in traces.items():
        ax.plot(frames["time_ps"], frames["ligand_rmsd_A"], lw=1.2, label=plain_text(compound_id))
    ax.axhline(cutoff_A, color="#9a3412", lw=1, ls="--", label=f"{cutoff_A:g} Å (stable)")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("ligand RMSD from start pose (Å)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return figure_to_svg(fig, "rmsd-traces")


def plot_physics_calibration(table: pd.DataFrame, calibration) -> str | None:
    """Measured pActivity vs MM/GBSA with the per-series calibration line and 80 % band.

    ``calibration`` is a :class:`ranking.calibrate.PhysicsCalibration`; nothing is drawn
    without at least two fitted compounds.
    """
    if calibration is None or calibration.n < 2 or np.isnan(calibration.slope):
        return None
    fitted = table["compound_id"].astype(str).isin(calibration.compound_ids)
    x = _numeric(table, calibration.physics_column)[fitted]
    y = _numeric(table, "measured_p_activity")[fitted]
    fig = new_figure(5.0, 4.2)
    ax = fig.add_subplot()
    sem = _numeric(table, "mmgbsa_sem_kcal_mol")[fitted].fillna(0.0) \
        if calibration.physics_column == "mmgbsa_kcal_mol" else None
    measured_sd = _numeric(table, "measured_sd")[fitted].fillna(0.0)
    ax.errorbar(x, y, xerr=sem, yerr=measured_sd, fmt="none", ecolor="0.6", elinewidth=0.8)
    ax.scatter(x, y, s=30, color="#0969da", label="measured, simulated (± SE, ± SD)")
    grid = np.linspace(float(x.min()) - 2, float(x.max()) + 2, 50)
    mean, sd = calibration.predict(grid)
    style = {"color": "#1a7f37" if calibration.used else "#8c959f"}
    ax.plot(grid, mean, lw=1.5, **style, label="fit" + ("" if calibration.used else " (not used)"))
    ax.fill_between(grid, mean - 1.2816 * sd, mean + 1.2816 * sd, alpha=0.15, lw=0, **style,
                    label="80 % prediction band")
    ax.set_xlabel("MM/GBSA (kcal/mol)" if calibration.physics_column == "mmgbsa_kcal_mol"
                  else calibration.physics_column)
    ax.set_ylabel(f"measured pActivity ({P_UNIT})")
    ax.set_title(f"R = {calibration.r:+.2f}, leave-one-out R = {calibration.loo_r:+.2f}, "
                 f"n = {calibration.n}", fontsize=9)
    ax.legend(fontsize=8)
    return figure_to_svg(fig, "physics-calibration")
