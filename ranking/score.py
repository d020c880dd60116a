"""Score, gate, Pareto-rank and decide on every candidate: ``rank_candidates``.

The ranking key is the probability of clearing the target stage's gates (how likely
the compound *is* what the project needs, given the uncertainties), then the
desirability score (how good it looks overall). Pareto rank is reported next to it so
a trade-off compound (very potent but hard to make) is not lost behind a single sum.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ranking.calibrate import apply_physics_calibration
from ranking.derive import add_derived_columns
from ranking.desirability import desirability, score_groups, weighted_geometric_mean
from ranking.gates import NO_STAGE, evaluate_criterion, evaluate_gates
from ranking.settings import RankSettings

__all__ = ["desirability", "weighted_geometric_mean", "evaluate_criterion", "pareto_rank",
           "p_clear_gates", "decide", "rank_candidates", "LEADING_COLUMNS"]

GATE_COLUMNS = ["stage", "next_stage", "p_clear_gates", "p_next_stage", "p_next_if_unknown_pass",
                "data_needed", "no_estimate_for", "criteria_met", "criteria_missed"]
PARETO_OBJECTIVES = ("activity_p", "developability", "physics_evidence")
LEADING_COLUMNS = ["rank", "compound_id", "decision", "stage", "next_stage", "p_clear_gates",
                   "p_next_stage", "score", "activity_p", "activity_sd", "activity_source",
                   "pareto_rank", "decision_reason", "data_needed", "criteria_met",
                   "criteria_missed"]


def pareto_rank(objectives: np.ndarray) -> np.ndarray:
    """Non-dominated sorting rank (1 = Pareto front), all objectives maximized.

    Parameters
    ----------
    objectives
        Shape (n, k). NaN counts as the worst possible value, so a compound without
        simulation data can still be on the front through its other objectives.

    Returns
    -------
    numpy.ndarray
        Integer ranks, shape (n,).
    """
    x = np.asarray(objectives, dtype=float)
    x = np.where(np.isnan(x), -np.inf, x)
    ranks = np.zeros(len(x), dtype=int)
    remaining = np.arange(len(x))
    front = 1
    while remaining.size:
        sub = x[remaining]
        at_least = (sub[:, None, :] >= sub[None, :, :]).all(axis=2)  # [j, i]: j >= i everywhere
        better = (sub[:, None, :] > sub[None, :, :]).any(axis=2)
        dominated = (at_least & better).any(axis=0)
        ranks[remaining[~dominated]] = front
        remaining = remaining[dominated]
        front += 1
    return ranks


def p_clear_gates(table: pd.DataFrame, settings: RankSettings | None = None) -> np.ndarray:
    """Probability that each compound clears every criterion up to ``target_stage``.

    Parameters
    ----------
    table
        Candidate table (merged); derived columns are added when missing.
    settings
        Gates, target stage, number of samples and seed.

    Returns
    -------
    numpy.ndarray
        One probability in [0, 1] per row, deterministic for a given seed.
    """
    settings = settings or RankSettings()
    derived = add_derived_columns(table, settings.default_measured_sd, settings.admet_gate_endpoints)
    return np.array([evaluate_gates(row, settings)["p_clear_gates"]
                     for row in derived.to_dict("records")], dtype=float)


def decide(gates: Mapping, veto: str, settings: RankSettings) -> tuple[str, str]:
    """Turn one compound's gate results into a decision and a one-line reason.

    ``advance``: the last stage is reached, or the next stage's gates are cleared with
    probability at least ``advance_at_p`` -- counting missing data as arriving as
    predicted, because generating that data (assay, MD, ADMET) *is* the way forward.
    ``deprioritize``: a hard property veto, or not a likely hit even then.
    ``hold``: a known value makes the next stage unlikely, there is no estimate at
    all of a key value (potency) to judge by, or the compound looks promising but its
    case rests on a prediction that needs a measurement ("make and test").

    Parameters
    ----------
    gates
        Output of :func:`ranking.gates.evaluate_gates`.
    veto
        Labels of hard properties with desirability 0 (``""`` when none).
    settings
        Thresholds ``advance_at_p`` and ``deprioritize_below_p`` and the stages.

    Returns
    -------
    tuple of str
        ``(decision, reason)``.
    """
    last = settings.stages[-1]
    if veto:
        return "deprioritize", f"hard property limit failed: {veto}"
    if gates["stage"] == last.name:
        return "advance", f"meets every gate up to '{last.display}'"
    title = settings.stages[settings.stage_index(gates["next_stage"])].display
    p_now, p_open = gates["p_next_stage"], gates["p_next_if_unknown_pass"]
    needs = f"; to confirm: {gates['data_needed']}" if gates["data_needed"] else ""
    if p_now >= settings.advance_at_p:
        return "advance", f"p(clear {title}) = {p_now:.2f}"
    if p_open >= settings.advance_at_p:
        if "measured" in gates["data_needed"]:
            # A prediction alone never advances a compound: it earns a place in the make-and-test queue.
            return "hold", f"make and test: p(clear {title}) = {p_open:.2f} if missing data agree{needs}"
        return "advance", f"p(clear {title}) = {p_open:.2f} if missing data agree{needs}"
    if gates["no_estimate_for"]:
        return "hold", f"no estimate of {gates['no_estimate_for']}: p(clear {title}) unknown"
    if gates["stage"] == NO_STAGE and p_open < settings.deprioritize_below_p:
        return "deprioritize", f"p(clear {title}) = {p_open:.2f} even if missing data agree"
    return "hold", f"p(clear {title}) = {p_open:.2f} < {settings.advance_at_p:.2f}{needs}"


def rank_candidates(table: pd.DataFrame, settings: RankSettings | None = None) -> pd.DataFrame:
    """Score, gate and rank the merged candidate table.

    Parameters
    ----------
    table
        One row per compound (see :func:`ranking.merge.merge_candidate_table`); any
        stage column may be missing or NaN.
    settings
        Desirability profile, gates and Monte-Carlo settings.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``rank`` (1 = best: ``p_clear_gates`` then ``score``, ties by id),
        with the input columns plus ``n_alerts``, ``admet_max_risk``,
        ``calibrated_physics_p``/``_sd`` (see :mod:`ranking.calibrate`), ``d_<property>``,
        ``score``, ``potency_desirability``, ``developability``, ``physics_evidence``,
        ``score_veto``, ``pareto_rank``, ``stage``, ``next_stage``, ``target_stage``,
        ``p_clear_gates``, ``p_next_stage``, ``p_next_if_unknown_pass``, ``data_needed``,
        ``no_estimate_for``, ``criteria_met``, ``criteria_missed``,
        ``decision``, ``decision_reason`` and ``rank``; the key columns come first.
    """
    settings = settings or RankSettings()
    out = add_derived_columns(table, settings.default_measured_sd, settings.admet_gate_endpoints).reset_index(drop=True)
    out, _ = apply_physics_calibration(out, settings.calibration)
    scores = score_groups(out, settings.desirability, settings.soft_floor)
    out = pd.concat([out.drop(columns=[c for c in scores.columns if c in out.columns]), scores],
                    axis=1)
    objectives = np.column_stack([pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float)
                                  for c in PARETO_OBJECTIVES])
    out["pareto_rank"] = pareto_rank(objectives) if len(out) else np.zeros(0, dtype=int)
    gates = pd.DataFrame([evaluate_gates(row, settings) for row in out.to_dict("records")],
                         index=out.index, columns=GATE_COLUMNS)
    out = pd.concat([out.drop(columns=[c for c in gates.columns if c in out.columns]), gates],
                    axis=1)
    out["target_stage"] = settings.target_stage
    decisions = [decide(g, v, settings) for g, v in
                 zip(gates.to_dict("records"), out["score_veto"])]
    out["decision"] = [d for d, _ in decisions]
    out["decision_reason"] = [r for _, r in decisions]
    out["_id"] = out["compound_id"].astype(str)
    out = out.sort_values(["p_clear_gates", "score", "_id"], ascending=[False, False, True],
                          na_position="last", kind="mergesort").drop(columns="_id")
    out["rank"] = np.arange(1, len(out) + 1)
    leading = [c for c in LEADING_COLUMNS if c in out.columns]
    return out[leading + [c for c in out.columns if c not in leading]].reset_index(drop=True)
