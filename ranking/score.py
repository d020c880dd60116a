"""Score, gate, Pareto-rank and decide on every candidate: ``rank_candidates``.

One decision model, one set of numbers. Each compound gets one potency estimate
(:mod:`ranking.potency`: measurement, prediction and calibrated physics combined by
inverse variance), the probability of clearing every stage's gates from that predictive
distribution and its computed properties (:mod:`ranking.gates`), and a desirability score
in which every property enters once (:mod:`ranking.desirability`). The decision is a
function of p(clear the target stage) alone -- advance at ``advance_at_p`` or above,
deprioritize below ``deprioritize_below_p``, hold between -- and the rank sorts by the same
probability (then the score), so every advance ranks above every hold and every hold
above every deprioritize, and a compound at least as likely to clear every gate as an
advanced one is advanced too. Pareto rank is reported beside it so a trade-off compound is
not lost behind a single number.

"Advance" means "make next" for a compound not measured yet, so it is bounded by the make
capacity (``RankSettings.make_capacity``, default the next batch size): of the designed
compounds at or above ``advance_at_p``, those with the ``make_capacity`` highest p(clear)
advance (ties at the cut all advance), the rest hold "beyond the make capacity". A
measured compound advances on its own evidence, without a capacity. Monotonicity then holds
within each kind of evidence (measured, not measured), and the rank sorts by decision first,
so the decision order and the rank order still agree.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ranking.calibrate import apply_physics_calibration
from ranking.derive import add_derived_columns
from ranking.desirability import desirability, score_groups, weighted_geometric_mean
from ranking.gates import evaluate_criterion, evaluate_gates, series_pass_rates
from ranking.potency import add_potency_estimate
from ranking.settings import RankSettings

__all__ = ["desirability", "weighted_geometric_mean", "evaluate_criterion", "pareto_rank",
           "p_clear_gates", "decide", "make_cutoff", "rank_candidates", "prepare_evidence",
           "LEADING_COLUMNS", "DECISION_ORDER"]

PARETO_OBJECTIVES = ("activity_p", "developability", "physics_evidence")
#: Decisions in rank order: every advance ranks above every hold, every hold above every deprioritize.
DECISION_ORDER = {"advance": 0, "hold": 1, "deprioritize": 2}
LEADING_COLUMNS = ["rank", "compound_id", "decision", "stage", "next_stage", "p_clear_gates",
                   "p_next_stage", "score", "activity_p", "activity_sd", "activity_source",
                   "activity_evidence", "pareto_rank", "decision_reason", "data_needed",
                   "criteria_met", "criteria_missed"]


def gate_columns(settings: RankSettings) -> list[str]:
    """Columns :func:`ranking.gates.evaluate_gates` adds, in table order."""
    return (["stage", "next_stage", "p_clear_gates", "p_next_stage", "p_target_other", "limiting"]
            + [f"p_{s.name}" for s in settings.stages]
            + ["data_needed", "criteria_met", "criteria_missed"])


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
    n = len(x)
    ranks = np.zeros(n, dtype=int)
    if n == 0:
        return ranks
    # Domination matrix once (j dominates i), then peel the fronts by counting dominators:
    # O(n² k), not O(n² k) per front.
    at_least = np.ones((n, n), dtype=bool)
    better = np.zeros((n, n), dtype=bool)
    for k in range(x.shape[1]):
        col = x[:, k]
        at_least &= col[:, None] >= col[None, :]
        better |= col[:, None] > col[None, :]
    dominates = at_least & better
    count = dominates.sum(axis=0)
    done = np.zeros(n, dtype=bool)
    front = 1
    while not done.all():
        current = (count == 0) & ~done
        ranks[current] = front
        done |= current
        count = count - dominates[current].sum(axis=0)
        front += 1
    return ranks


def prepare_evidence(table: pd.DataFrame, settings: RankSettings | None = None) -> pd.DataFrame:
    """Derived columns, calibrated physics and the potency estimate (no gates, no score)."""
    settings = settings or RankSettings()
    # Series-level sums (calibration, pooled SDs, priors) run in compound-id order, so a
    # compound's numbers do not depend on the row order of the table, to the last bit.
    order = np.argsort(table["compound_id"].astype(str).to_numpy(), kind="mergesort")
    out = add_derived_columns(table.iloc[order], settings.default_measured_sd,
                              settings.admet_gate_endpoints).reset_index(drop=True)
    out, _ = apply_physics_calibration(out, settings.calibration)
    out = add_potency_estimate(out, settings)
    return out.iloc[np.argsort(order, kind="mergesort")].reset_index(drop=True)


def p_clear_gates(table: pd.DataFrame, settings: RankSettings | None = None) -> np.ndarray:
    """Probability that each compound clears every criterion up to ``target_stage``.

    Parameters
    ----------
    table
        Candidate table (merged); the evidence columns are added.
    settings
        Gates, target stage and potency settings.

    Returns
    -------
    numpy.ndarray
        One probability in [0, 1] per row (exact, no sampling).
    """
    settings = settings or RankSettings()
    evidence = prepare_evidence(table, settings)
    rates = series_pass_rates(evidence, settings)
    return np.array([evaluate_gates(row, settings, rates)["p_clear_gates"]
                     for row in evidence.to_dict("records")], dtype=float)


def make_cutoff(p_designed: np.ndarray, settings: RankSettings) -> float:
    """Lowest p(clear target) at which a compound not measured yet still advances.

    ``advance_at_p`` while at most ``make_capacity`` designed compounds reach it; otherwise
    the p(clear) of the ``make_capacity``-th best of them, so exactly the ones at or above
    it advance (ties at the cut included: equal evidence, equal decision).
    """
    p = np.sort(np.asarray(p_designed, dtype=float))[::-1]
    p = p[p >= settings.advance_at_p]
    capacity = settings.capacity()
    if len(p) <= capacity:
        return settings.advance_at_p
    return float(p[capacity - 1])


def decide(gates: Mapping, settings: RankSettings, make_cut: float | None = None) -> tuple[str, str]:
    """Decision and one-line reason from p(clear the target stage) and the make capacity.

    ``advance`` at ``advance_at_p`` or above: take a measured compound on to the next
    stage's work; make and test a compound not measured yet if its p(clear) is also at
    least ``make_cut`` (:func:`make_cutoff`: within the make capacity), else ``hold`` it
    until capacity frees up. ``deprioritize`` below ``deprioritize_below_p``. ``hold``
    between: the reason names the evidence that would settle it. Monotone in p(clear)
    within each kind of evidence (measured, not measured).

    Parameters
    ----------
    gates
        Output of :func:`ranking.gates.evaluate_gates` plus ``activity_source``.
    settings
        Thresholds and stages.
    make_cut
        :func:`make_cutoff` of the table; ``None``: no capacity (``advance_at_p``).

    Returns
    -------
    tuple of str
        ``(decision, reason)``.
    """
    target = settings.stages[settings.stage_index(settings.target_stage)].display
    p = float(gates["p_clear_gates"])
    head = f"p(clear {target}) = {p:.2f}"
    needs = f"; to settle: {gates['data_needed']}" if gates.get("data_needed") else ""
    measured = gates.get("activity_source") == "measured"
    cut = settings.advance_at_p if make_cut is None else max(make_cut, settings.advance_at_p)
    if p >= settings.advance_at_p:
        if measured:
            step = f" towards {gates['next_stage']}" if gates.get("next_stage") else ""
            return "advance", f"progress{step}: {head} ≥ {settings.advance_at_p:.2f}{needs}"
        if p >= cut:
            return "advance", f"make and test: {head} ≥ {settings.advance_at_p:.2f}, within the " \
                              f"make capacity of {settings.capacity()}"
        return "hold", f"{head} ≥ {settings.advance_at_p:.2f} but beyond the make capacity of " \
                       f"{settings.capacity()} (the designed compounds made next reach {cut:.2f})"
    weakest = f"; weakest: {gates['limiting']}" if gates.get("limiting") else ""
    if p < settings.deprioritize_below_p:
        return "deprioritize", f"{head} < {settings.deprioritize_below_p:.2f}{weakest}"
    return "hold", f"{head}, between {settings.deprioritize_below_p:.2f} and " \
                   f"{settings.advance_at_p:.2f}{weakest}{needs}"


def rank_candidates(table: pd.DataFrame, settings: RankSettings | None = None) -> pd.DataFrame:
    """Estimate potency, score, gate, decide and rank the merged candidate table.

    Parameters
    ----------
    table
        One row per compound (see :func:`ranking.merge.merge_candidate_table`); any
        stage column may be missing or NaN.
    settings
        Desirability profile, gates, potency and decision settings.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``rank`` (1 = best: decision, then ``p_clear_gates``, then ``score``,
        ties by id),
        with the input columns plus ``n_alerts``, ``admet_max_risk``,
        ``calibrated_physics_p``/``_sd``, the potency estimate (``activity_*``, see
        :mod:`ranking.potency`), ``d_<property>``, ``score``, ``potency_desirability``,
        ``developability``, ``physics_evidence``, ``score_veto``, ``pareto_rank``, the gate
        columns (``stage``, ``next_stage``, ``p_clear_gates``, ``p_next_stage``,
        ``p_target_other``, ``p_<stage>`` per stage, ``data_needed``, ``criteria_met``,
        ``criteria_missed``), ``target_stage``, ``decision``, ``decision_reason`` and
        ``rank``; the key columns come first.
    """
    settings = settings or RankSettings()
    out = prepare_evidence(table, settings)
    scores = score_groups(out, settings.desirability, settings.soft_floor)
    out = pd.concat([out.drop(columns=[c for c in scores.columns if c in out.columns]), scores],
                    axis=1)
    objectives = np.column_stack([pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float)
                                  for c in PARETO_OBJECTIVES])
    out["pareto_rank"] = pareto_rank(objectives) if len(out) else np.zeros(0, dtype=int)
    rates = series_pass_rates(out, settings)
    columns = gate_columns(settings)
    gates = pd.DataFrame([evaluate_gates(row, settings, rates) for row in out.to_dict("records")],
                         index=out.index, columns=columns)
    out = pd.concat([out.drop(columns=[c for c in columns if c in out.columns]), gates], axis=1)
    out["target_stage"] = settings.target_stage
    designed = (out["activity_source"] != "measured").to_numpy()
    cut = make_cutoff(out.loc[designed, "p_clear_gates"].to_numpy(dtype=float), settings)
    decisions = [decide({**g, "activity_source": s}, settings, cut) for g, s in
                 zip(gates.to_dict("records"), out["activity_source"])]
    out["decision"] = [d for d, _ in decisions]
    out["decision_reason"] = [r for _, r in decisions]
    out["_id"] = out["compound_id"].astype(str)
    out["_tier"] = out["decision"].map(DECISION_ORDER)
    out = out.sort_values(["_tier", "p_clear_gates", "score", "_id"],
                          ascending=[True, False, False, True], na_position="last",
                          kind="mergesort").drop(columns=["_id", "_tier"])
    out["rank"] = np.arange(1, len(out) + 1)
    leading = [c for c in LEADING_COLUMNS if c in out.columns]
    return out[leading + [c for c in out.columns if c not in leading]].reset_index(drop=True)
