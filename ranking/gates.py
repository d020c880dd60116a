"""Stage gates: which criteria a compound meets, and how likely it is to clear them.

A criterion is *met*, *missed* or *unknown*. Unknown (no value, a prediction where a
measurement is required, or a censored value on the wrong side of the threshold)
counts as not met when deciding the stage reached. The gate probability samples the
uncertain values (Normal(value, sd); censored measurements from the prior truncated at
the bound) and counts the draws that pass every criterion; an unknown criterion passes
in no draw. Each compound has its own random stream seeded from (seed, compound_id),
so its probability does not depend on which other compounds are in the table.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np
from scipy.stats import truncnorm

from ranking.derive import ADMET_SUMMARY, normalize_qualifier
from ranking.settings import GateCriterion, RankSettings, StageGate

NO_STAGE = "none"
_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
_SIM_COLUMNS = {"mmgbsa_kcal_mol", "mmgbsa_sem_kcal_mol", "frac_frames_within_2A", "rmsd_mean_A"}


@dataclass(slots=True, frozen=True)
class CriterionOutcome:
    """Result of one criterion for one compound.

    Attributes
    ----------
    status
        ``"met"``, ``"missed"`` or ``"unknown"`` (unknown counts as not met).
    text
        Human-readable line, e.g. ``"pActivity 8.1 ≥ 7.0 (measured)"``.
    """

    status: Literal["met", "missed", "unknown"]
    text: str


def _number(row: Mapping, column: str | None) -> float:
    if column is None:
        return np.nan
    value = row.get(column)
    try:
        return float(value) if value is not None else np.nan
    except (TypeError, ValueError):
        return np.nan


def _fmt(value: float, decimals: int | None) -> str:
    if decimals is None:
        decimals = 0 if abs(value) >= 100 else (2 if 0 < abs(value) < 1 else 1)
    return f"{value:.{decimals}f}"


def _passes(x: np.ndarray | float, op: str, threshold: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if op == ">=":
        return x >= threshold
    if op == "<=":
        return x <= threshold
    if op == ">":
        return x > threshold
    return x < threshold


def _why_missing(row: Mapping, column: str) -> str:
    if column == ADMET_SUMMARY or column.startswith("admet_"):
        return "ADMET not predicted"
    if column in _SIM_COLUMNS:
        return "simulation failed" if row.get("sim_status") == "failed" else "not simulated"
    return "no data"


def evaluate_criterion(row: Mapping, c: GateCriterion) -> CriterionOutcome:
    """Decide met / missed / unknown for one compound (a table row as a mapping)."""
    value = _number(row, c.column)
    sym = _SYMBOL[c.op]
    need = f"{sym} {_fmt(c.threshold, c.decimals)}{' ' + c.unit if c.unit else ''}"
    source = row.get(c.source_column) if c.source_column else None
    source = source if isinstance(source, str) else None
    if np.isnan(value):
        return CriterionOutcome("unknown", f"{c.label} unknown ({_why_missing(row, c.column)}), "
                                           f"needs {need}: counts as not met")
    shown = _fmt(value, c.decimals)
    if c.requires_measured and source != "measured":
        sd = _number(row, c.sd_column)
        spread = f" ± {_fmt(sd, c.decimals)}" if not np.isnan(sd) else ""
        return CriterionOutcome("unknown", f"{c.label} unknown: needs a measured value {need} "
                                           f"({source or 'estimated'} {shown}{spread}): "
                                           "counts as not met")
    qualifier = normalize_qualifier(row.get(c.qualifier_column)) if c.qualifier_column else "="
    tag = f" ({source}{', censored' if qualifier != '=' else ''})" if source else ""
    if qualifier == "=":
        ok = bool(_passes(value, c.op, c.threshold))
        verb = "" if ok else "not "
        return CriterionOutcome("met" if ok else "missed", f"{c.label} {shown} {verb}{need}{tag}")
    # A censored value: the true value lies beyond the bound, so the bound decides only
    # when the whole censored interval sits on one side of the threshold.
    lies_above = qualifier == ">"
    wants_above = c.op in (">=", ">")
    text = f"{c.label} {qualifier} {shown}"
    if (value >= c.threshold) if lies_above else (value <= c.threshold):
        if lies_above == wants_above:
            return CriterionOutcome("met", f"{text} {need}{tag}")
        return CriterionOutcome("missed", f"{text} not {need}{tag}")
    return CriterionOutcome("unknown", f"{text}{tag}: cannot tell whether {need}; "
                                       "counts as not met")


def _draw(row: Mapping, c: GateCriterion, n: int, rng: np.random.Generator,
          settings: RankSettings) -> np.ndarray | None:
    value = _number(row, c.column)
    if np.isnan(value):
        return None
    qualifier = normalize_qualifier(row.get(c.qualifier_column)) if c.qualifier_column else "="
    if qualifier == "=":
        sd = _number(row, c.sd_column)
        sd = sd if sd > 0 else 0.0  # NaN compares False: no spread given, value taken as exact
        return value + sd * rng.standard_normal(n)
    # Censored: the prior (the model's prediction if there is one) truncated at the bound.
    mean = _number(row, c.prior_column)
    sd = _number(row, c.prior_sd_column)
    mean = mean if np.isfinite(mean) else value
    sd = sd if sd > 0 else settings.censored_prior_sd
    bound = (value - mean) / sd
    a, b = (bound, np.inf) if qualifier == ">" else (-np.inf, bound)
    return truncnorm.rvs(a, b, loc=mean, scale=sd, size=n, random_state=rng)


def compound_rng(seed: int, compound_id: object) -> np.random.Generator:
    """Random stream of one compound, stable across runs and table contents."""
    return np.random.default_rng([seed, zlib.crc32(str(compound_id).encode("utf-8"))])


def _criteria_up_to(stages: Sequence[StageGate], index: int) -> list[GateCriterion]:
    return [c for stage in stages[: index + 1] for c in stage.criteria]


def _probability(row: Mapping, criteria: Iterable[GateCriterion],
                 draws: Mapping[str, np.ndarray | None], n: int, *,
                 unknown_passes: bool = False) -> float:
    """Fraction of draws passing every criterion.

    With ``unknown_passes`` a missing value is ignored (unless ``missing_may_pass`` is
    off) and a prediction stands in where a measurement is required: "how likely if the
    missing data come in as expected".
    """
    passing = np.ones(n, dtype=bool)
    for c in criteria:
        samples = draws[c.column]
        if samples is None:
            if unknown_passes and c.missing_may_pass:
                continue
            return 0.0
        if c.requires_measured and row.get(c.source_column) != "measured" and not unknown_passes:
            return 0.0
        passing &= _passes(samples, c.op, c.threshold)
    return float(passing.mean())


def _data_needed(row: Mapping, c: GateCriterion) -> str | None:
    if np.isnan(_number(row, c.column)):
        return c.label
    if c.requires_measured and row.get(c.source_column) != "measured":
        return f"measured {c.label}"
    return None


def evaluate_gates(row: Mapping, settings: RankSettings) -> dict:
    """Stage reached, gate probabilities and criteria strings for one compound.

    Returns
    -------
    dict
        ``stage`` (last stage whose cumulative criteria are all met, ``"none"``),
        ``next_stage`` (``""`` when the last stage is reached), ``p_clear_gates``
        (probability of clearing every criterion up to ``settings.target_stage``),
        ``p_next_stage`` (same for the next stage, or the last one when reached),
        ``p_next_if_unknown_pass`` (the same when missing data arrive as predicted),
        ``data_needed`` (labels of the next stage's unknown criteria), ``no_estimate_for``
        (those among them with no value that nothing can stand in for), ``criteria_met``
        and ``criteria_missed`` ("; "-joined, up to the next stage; missed ones are
        prefixed with their stage).
    """
    stages = settings.stages
    n = settings.n_samples
    reached = -1
    met: list[str] = []
    missed: list[str] = []
    for i, stage in enumerate(stages):
        outcomes = [evaluate_criterion(row, c) for c in stage.criteria]
        met += [o.text for o in outcomes if o.status == "met"]
        missed += [f"{stage.name}: {o.text}" for o in outcomes if o.status != "met"]
        if not all(o.status == "met" for o in outcomes):
            break
        reached = i
    rng = compound_rng(settings.seed, row.get("compound_id"))
    draws: dict[str, np.ndarray | None] = {}
    for c in _criteria_up_to(stages, len(stages) - 1):
        if c.column not in draws:
            draws[c.column] = _draw(row, c, n, rng, settings)
    target = settings.stage_index(settings.target_stage)
    next_index = min(reached + 1, len(stages) - 1)
    next_criteria = _criteria_up_to(stages, next_index)
    needed = [_data_needed(row, c) for c in stages[next_index].criteria]
    no_estimate = [c.label for c in next_criteria
                   if not c.missing_may_pass and np.isnan(_number(row, c.column))]
    return {
        "stage": stages[reached].name if reached >= 0 else NO_STAGE,
        "next_stage": stages[reached + 1].name if reached + 1 < len(stages) else "",
        "p_clear_gates": _probability(row, _criteria_up_to(stages, target), draws, n),
        "p_next_stage": _probability(row, next_criteria, draws, n),
        "p_next_if_unknown_pass": _probability(row, next_criteria, draws, n, unknown_passes=True),
        "data_needed": "; ".join(dict.fromkeys(x for x in needed if x)),
        "no_estimate_for": "; ".join(dict.fromkeys(no_estimate)),
        "criteria_met": "; ".join(met),
        "criteria_missed": "; ".join(missed),
    }
