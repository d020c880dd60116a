"""The report's summary block: counts, funnel, model quality, changes since the last run."""

from __future__ import annotations

import math

import pandas as pd

from ranking.compare import compare_rankings
from ranking.gates import NO_STAGE
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
    order = [NO_STAGE] + [s.name for s in settings.stages]
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
