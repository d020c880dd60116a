"""The report's summary block: counts, funnel, model quality, changes since the last run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ranking.compare import compare_rankings
from ranking.derive import normalize_qualifier
from ranking.settings import DESIGNED, MEASURED
from ranking.settings import RankSettings

_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
# Cross-validation metrics worth a lead's attention, in the order shown.
_METRICS = (("rmse", "RMSE", 2), ("r2_exact", "R²", 2), ("r2", "R²", 2),
            ("spearman_exact", "Spearman", 2), ("spearman", "Spearman", 2))
_CHANGE_LABELS = {"decision": "decision changed", "new_in_top": "new in top",
                  "left_top": "left top", "moved": "moved"}


def _counts(ranked: pd.DataFrame, column: str) -> dict[str, int]:
    if column not in ranked.columns:
        return {}
    return {str(k): int(v) for k, v in ranked[column].fillna("–").value_counts().items()}


def summarize_ranking(ranked: pd.DataFrame, has_admet: bool, settings: RankSettings) -> dict:
    """Counts by decision, stage, activity source and simulation status; who advances now."""
    order = [DESIGNED, MEASURED] + [s.name for s in settings.stages]
    stages = _counts(ranked, "stage")
    stages = {k: stages[k] for k in sorted(stages, key=lambda k: (order + [k]).index(k))}
    advance = ranked[ranked["decision"] == "advance"] if "decision" in ranked.columns \
        else ranked.iloc[:0]
    sim = ranked["sim_status"] if "sim_status" in ranked.columns else pd.Series(dtype=object)
    return {"n": len(ranked), "decisions": _counts(ranked, "decision"), "stages": stages,
            "sources": _counts(ranked, "activity_source"),
            "sim_ok": int((sim == "ok").sum()), "sim_failed": int((sim == "failed").sum()),
            "admet": "predicted" if has_admet else "not predicted",
            "target": str(ranked["target_stage"].iloc[0]) if len(ranked) else "–",
            "advance_now": [(str(r["compound_id"]), r.get("decision_reason", ""))
                            for r in advance.head(10).to_dict("records")],
            "n_advance_more": max(len(advance) - 10, 0)}


def funnel_line(funnel: list[dict], n_ranked: int) -> str:
    """One line: generated → kept by the filters (the steps that rejected) → ranked."""
    if not funnel:
        return f"{n_ranked} ranked (no generation funnel recorded)"
    first, last = funnel[0], funnel[-1]
    rejecting = [f"{f['step']} {int(f['n_rejected'])}" for f in funnel if f.get("n_rejected")]
    rejected = f" (rejected: {', '.join(rejecting)})" if rejecting else ""
    return (f"{int(first['n_in'])} generated → {int(last['n_out'])} passed filters{rejected} → "
            f"{n_ranked} ranked with the measured series")


def model_line(model) -> str:
    """One line on the activity model's out-of-fold quality (``""`` without a model).

    The metrics are out-of-fold (nested cross-validation: the model kind chosen again
    inside each fold), never the model's fit to its own training data; the 1-NN
    baseline's out-of-fold RMSE follows when the stage recorded it.
    """
    if model is None:
        return ""
    shown, seen = [], set()
    for key, label, digits in _METRICS:
        value = model.cv_metrics.get(key)
        if label in seen or not isinstance(value, (int, float)) or math.isnan(value):
            continue
        seen.add(label)
        shown.append(f"{label} {value:.{digits}f}")
    quality = f"out-of-fold {', '.join(shown)}" if shown else "no out-of-fold metrics"
    baseline = model.cv_metrics.get("rmse_1nn_baseline")
    if isinstance(baseline, (int, float)) and not math.isnan(baseline):
        quality += f" (1-NN baseline RMSE {baseline:.2f})"
    return f"{quality} on {model.n_train} measurements ({model.model_id})"


def gate_rows(settings: RankSettings) -> list[dict]:
    """Stage name and the criteria it adds, for the provenance section."""
    return [{"stage": stage.display,
             "criteria": "; ".join(
                 f"{c.label} {_SYMBOLS[c.op]} {c.threshold:g}{' ' + c.unit if c.unit else ''}"
                 f"{' (measured)' if c.requires_measured else ''}" for c in stage.criteria)}
            for stage in settings.stages]


def change_summary(previous: pd.DataFrame | None, ranked: pd.DataFrame, top_n: int = 20,
                   max_rows: int = 15) -> dict:
    """Changes since the previous run, for the summary: counts by kind and the first rows."""
    if previous is None:
        return {"first_run": True, "counts": {}, "rows": [], "n_more": 0, "top_n": top_n}
    changes = compare_rankings(previous, ranked, top_n=top_n)
    counts = {_CHANGE_LABELS[k]: int(v) for k, v in changes["change"].value_counts().items()}
    rows = [{"compound_id": r["compound_id"], "change": _CHANGE_LABELS[r["change"]],
             "detail": r["detail"], "decision": r["current_decision"] or "–"}
            for r in changes.head(max_rows).to_dict("records")]
    return {"first_run": False, "counts": counts, "rows": rows,
            "n_more": max(len(changes) - max_rows, 0), "top_n": top_n}


#: Short glossary shown in the report (term, meaning with units).
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("pActivity", "−log₁₀ of the potency in mol/L: pKi = 9 − log₁₀(Ki / nM), likewise pIC50, pKd; "
                  "1 unit = 10× potency. Shown as estimate ± SD (1σ) in pActivity units."),
    ("potency estimate", "measurement (SD of the replicate mean, shrunk towards the assay's typical "
                         "replicate SD), model prediction (SD from its calibrated interval) and "
                         "calibrated physics combined by inverse variance; a censored value ('>', '<') "
                         "truncates the rest. 'prior': no evidence yet, the series' spread."),
    ("p(clear)", "probability, from each compound's predictive distribution, of clearing every gate "
                 "up to the stage named (cumulative); a value not computed yet (no MD, no ADMET) "
                 "enters as an explicit prior, never as met. Rank and decision use p(clear target)."),
    ("stage", "what is known: 'designed' (never made or tested), 'measured' (tested, no stage "
              "confirmed), then the highest stage whose gates are cleared with p ≥ 0.5 on known "
              "evidence (measured potency)."),
    ("decision", "advance: p(clear target) ≥ the advance threshold -- a measured compound on its "
                 "own evidence, a compound not made yet only within the make capacity (the next "
                 "batch size; 'make next'), the rest hold; deprioritize: below the lower threshold; "
                 "hold: between. Rank sorts by decision, then p(clear target), then score."),
    ("score", "weighted geometric mean (0–1) of desirabilities: potency, QED, SA score, cLogP, MW, "
              "TPSA, alerts, pose stability; each property counted once, a hard limit at 0 vetoes."),
    ("Pareto rank", "1 = no other compound is at least as good in potency, developability and "
                    "physics evidence and better in one; 2 = dominated only by rank 1; ..."),
    ("MM/GBSA", "end-point binding energy, kcal/mol (more negative = tighter); only its per-series "
                "calibration to pActivity enters the decisions."),
)


def model_evidence(ranked: pd.DataFrame) -> dict:
    """Out-of-fold predicted-vs-measured figures of the activity model, when the table has them.

    Uses ``oof_pred_p_activity`` with ``oof_lower_80``/``oof_upper_80`` and
    ``oof_lower_90``/``oof_upper_90`` on exactly measured compounds; error by domain bin
    from ``in_domain``. Returns ``{"available": False, "message": ...}`` otherwise, so the
    report never shows an in-sample number as evidence.
    """
    if "oof_pred_p_activity" not in ranked.columns or "measured_p_activity" not in ranked.columns:
        return {"available": False,
                "message": "no out-of-fold predictions in this table: the model's quality is its "
                           "cross-validation above; in-sample fits are not shown as evidence"}
    qualifier = ranked.get("measured_qualifier", pd.Series("=", index=ranked.index))
    exact = ranked["measured_p_activity"].notna() & ranked["oof_pred_p_activity"].notna() \
        & (qualifier.map(normalize_qualifier) == "=")
    data = ranked[exact]
    if len(data) < 3:
        return {"available": False, "message": f"only {len(data)} measured compounds with an "
                                               "out-of-fold prediction"}
    y = data["measured_p_activity"].to_numpy(float)
    pred = data["oof_pred_p_activity"].to_numpy(float)
    out = {"available": True, "n": int(len(data)),
           "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
           "spearman": float(spearmanr(pred, y)[0]) if np.ptp(y) > 0 else math.nan, "coverage": [],
           "bins": []}
    for level in (80, 90):
        lo, hi = f"oof_lower_{level}", f"oof_upper_{level}"
        if lo in data.columns and hi in data.columns:
            inside = (data[lo].to_numpy(float) <= y) & (y <= data[hi].to_numpy(float))
            out["coverage"].append((level, float(inside.mean())))
    if "in_domain" in data.columns:
        for flag, label in ((True, "in domain"), (False, "out of domain")):
            mask = (data["in_domain"] == flag).to_numpy()
            if mask.any():
                out["bins"].append((label, int(mask.sum()),
                                    float(np.sqrt(np.mean((pred[mask] - y[mask]) ** 2)))))
    return out
