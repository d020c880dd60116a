"""Propose the next compounds to make and test: gate-aware, bounded acquisition + diversity.

The acquisition reads the same potency estimate and gate probabilities as the ranking
(:func:`ranking.score.rank_candidates`):

* ``p_clear`` (default): p(clear the target stage) -- the number the decision and the rank
  use, so the batch is the best-ranked eligible unmeasured compounds, diversified: a
  probability of improvement over the target's gates, in [0, 1] by construction, ties
  going to the higher potency estimate.
* ``thompson``: batch Thompson sampling. For each pick, every eligible compound draws a
  potency from its predictive distribution (a truncated Normal, censored values stay
  censored) and a pass/fail of the target stage's other gates with their probability; the
  best surviving draw (minus the synthesis-cost penalty) not too similar to an earlier pick
  is taken.
* ``ucb``: p(other gates) × (mean + κ·sd); ``ei``: p(other gates) × expected improvement
  over the best measured estimate.

On the replay benchmark (``bench/decision_quality.py``, 2 seeds, ChEMBL2321810 from 5 %)
``p_clear`` found 30.0 / 43.0 of the true top 50 after 5 / 10 cycles, ``thompson`` 19.5 /
39.0: many uncertain compounds each get a lucky draw, so Thompson sampling spends a batch
of 20 on exploration. The default was chosen on these figures (see docs/decisions.md).

Bounded: σ is the estimate's own (calibrated interval, never 0, never filled in), and a
compound whose σ exceeds ``max_sd_factor`` × the SD of the measured series
(:func:`sd_bound`) is not eligible at all: the model knows less about it than the spread
of the series, so proposing it would be a guess, and exploration cannot run away to the
least known compounds. The acquisition reads the same σ as the gates and the report.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from scipy.stats import norm, truncnorm

from ranking.gates import POTENCY, potency_interval
from ranking.settings import NextBatchSettings, RankSettings

NEXT_BATCH_COLUMNS = ["pick", "compound_id", "smiles", "acquisition", "activity_p", "activity_sd",
                      "p_clear_gates", "p_target_other", "sa_score", "max_tanimoto_to_picked",
                      "nearest_pick", "reason"]


def expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float,
                         xi: float = 0.0) -> np.ndarray:
    """Expected improvement over ``best`` of a Normal(mean, sd) (sd 0: plain gain)."""
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    gain = mean - best - xi
    safe_sd = np.where(sd > 0, sd, 1.0)
    z = gain / safe_sd
    ei = gain * norm.cdf(z) + safe_sd * norm.pdf(z)
    return np.where(sd > 0, ei, np.maximum(gain, 0.0))


def acquisition_values(table: pd.DataFrame, settings: NextBatchSettings,
                       best_measured: float) -> np.ndarray:
    """UCB, EI or p(clear) on the potency estimate times p(other gates), minus the SA penalty.

    A missing SD is an error upstream (every estimate has one), never read as 0.
    """
    mean = pd.to_numeric(table["activity_p"], errors="coerce").to_numpy(dtype=float)
    sd = pd.to_numeric(table["acquisition_sd"] if "acquisition_sd" in table.columns
                       else table["activity_sd"], errors="coerce").to_numpy(dtype=float)
    p_other = pd.to_numeric(table["p_target_other"], errors="coerce").fillna(1.0).to_numpy()
    if settings.acquisition == "ei":
        value = p_other * expected_improvement(mean, sd, best_measured, settings.ei_xi)
    elif settings.acquisition == "p_clear":
        scale = pd.to_numeric(table["activity_scale"], errors="coerce").to_numpy(dtype=float)
        value = p_other * potency_mass(table, scale, settings_gate_interval(table))
    else:
        value = p_other * (mean + settings.ucb_kappa * sd)
    return value - sa_penalty(table, settings)


def settings_gate_interval(table: pd.DataFrame) -> tuple[float, float]:
    """The target stage's potency interval, stored on the table by :func:`propose_next_batch`."""
    return table.attrs.get("potency_interval", (-np.inf, np.inf))


def potency_mass(table: pd.DataFrame, scale: np.ndarray, interval: tuple[float, float]) -> np.ndarray:
    """P(lo ≤ potency ≤ hi) under each compound's truncated Normal with the given scale."""
    loc = table["activity_loc"].to_numpy(dtype=float)
    a, b = table["activity_lo"].to_numpy(dtype=float), table["activity_hi"].to_numpy(dtype=float)
    lo, hi = np.maximum(interval[0], a), np.minimum(interval[1], b)
    total = norm.cdf(b, loc, scale) - norm.cdf(a, loc, scale)
    mass = np.clip(norm.cdf(hi, loc, scale) - norm.cdf(lo, loc, scale), 0.0, None)
    return np.where((total > 0) & (hi >= lo), mass / np.where(total > 0, total, 1.0), 0.0)


def sa_penalty(table: pd.DataFrame, settings: NextBatchSettings) -> np.ndarray:
    """Synthesis-cost penalty in pActivity units (0 when the SA score is unknown)."""
    if "sa_score" not in table.columns:
        return np.zeros(len(table))
    sa = pd.to_numeric(table["sa_score"], errors="coerce").to_numpy(dtype=float)
    excess = np.clip(sa - settings.sa_free_below, 0.0, None)
    return settings.sa_penalty_per_unit * np.nan_to_num(excess, nan=0.0)


def sd_bound(table: pd.DataFrame, settings: RankSettings) -> float:
    """Largest σ a proposed compound may have: ``max_sd_factor`` × SD of the measured series.

    With fewer than three measured compounds the series SD is the potency prior's SD.
    """
    y = pd.to_numeric(table.get("measured_p_activity", pd.Series(dtype=float)), errors="coerce")
    y = y.dropna()
    spread = float(y.std(ddof=1)) if len(y) >= 3 else settings.potency.prior_sd
    return settings.next_batch.max_sd_factor * spread


def _eligible(table: pd.DataFrame, settings: RankSettings) -> pd.Series:
    nb = settings.next_batch
    measured = pd.to_numeric(table.get("measured_p_activity", pd.Series(np.nan, index=table.index)),
                             errors="coerce").notna()
    not_measured = (table["activity_source"] != "measured") & ~measured
    sd = pd.to_numeric(table["activity_sd"], errors="coerce")
    has_estimate = sd.notna() & (sd > 0)
    has_structure = table["smiles"].notna()
    # Unknown alerts (filters not run) do not block; a known excess does.
    alerts_ok = ~(table["n_alerts"] > nb.max_alerts)
    admet_ok = ~(table["admet_max_risk"] > nb.max_admet_risk)
    within_bound = sd <= sd_bound(table, settings)
    return not_measured & has_estimate & within_bound & has_structure & alerts_ok & admet_ok


def _fingerprint(smiles: str, generator) -> DataStructs.ExplicitBitVect | None:
    mol = Chem.MolFromSmiles(smiles)
    return generator.GetFingerprint(mol) if mol is not None else None


def _reason(row: pd.Series, value: float, nb: NextBatchSettings, nearest: float,
            nearest_id: str | None) -> str:
    estimate = f"pActivity {row['activity_p']:.2f} ± {row['activity_sd']:.2f}"
    gates = f"p(other gates) {row['p_target_other']:.2f}"
    if nb.acquisition == "thompson":
        text = f"Thompson draw {value:.2f} ({estimate}, {gates})"
    elif nb.acquisition == "ucb":
        text = f"UCB {value:.2f} = {row['p_target_other']:.2f} × ({row['activity_p']:.2f} + " \
               f"{nb.ucb_kappa:g}×{row['acquisition_sd']:.2f})"
    elif nb.acquisition == "p_clear":
        text = f"p(clear target) {value:.4f} ({estimate}, {gates})"
    else:
        text = f"EI {value:.2f} ({estimate}, {gates})"
    sa = pd.to_numeric(row.get("sa_score", np.nan), errors="coerce")
    penalty = nb.sa_penalty_per_unit * max(sa - nb.sa_free_below, 0.0) if pd.notna(sa) else 0.0
    if penalty > 0:
        text += f", SA {sa:.1f} costs {penalty:.2f}"
    in_domain = row.get("in_domain")
    if in_domain is not None and not pd.isna(in_domain) and not bool(in_domain):
        text += ", outside model domain (exploration)"
    if nearest_id is None:
        return text + "; first pick"
    return text + f"; nearest pick {nearest_id} at Tanimoto {nearest:.2f}"


def _thompson_draws(pool: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """One draw per compound: potency from its truncated Normal where its other gates pass."""
    loc = pool["activity_loc"].to_numpy(dtype=float)
    scale = pool["activity_scale"].to_numpy(dtype=float)
    a = (pool["activity_lo"].to_numpy(dtype=float) - loc) / scale
    b = (pool["activity_hi"].to_numpy(dtype=float) - loc) / scale
    u = rng.random(len(pool))
    # Inverse-CDF sampling keeps one uniform per compound (reproducible, order-free).
    potency = truncnorm.ppf(np.clip(u, 1e-12, 1 - 1e-12), a, b, loc=loc, scale=scale)
    passes = rng.random(len(pool)) < pool["p_target_other"].to_numpy(dtype=float)
    return np.where(passes, potency, -np.inf)


def propose_next_batch(table: pd.DataFrame, n: int | None = None,
                       settings: RankSettings | None = None) -> pd.DataFrame:
    """Pick up to ``n`` not-yet-measured, diverse candidates by gate-aware acquisition.

    Measured compounds, compounds without SMILES or without a σ, with σ above
    :func:`sd_bound`, with more alerts than ``max_alerts``, or an ADMET risk above
    ``max_admet_risk`` are not eligible. Picks skip any compound whose Morgan-fingerprint
    Tanimoto to an earlier pick exceeds ``max_tanimoto_to_picked``.

    Parameters
    ----------
    table
        Ranked candidate table (:func:`ranking.score.rank_candidates`); a merged table is
        ranked first.
    n
        Batch size; ``settings.next_batch.size`` when ``None``.
    settings
        Acquisition, gating, bound and diversity settings; ``seed`` seeds Thompson sampling.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NEXT_BATCH_COLUMNS`, one row per pick in pick order; ``reason``
        is a one-line explanation. Empty (same columns) when nothing is eligible. The
        result does not depend on the row order of ``table``.
    """
    settings = settings or RankSettings()
    nb = settings.next_batch
    size = nb.size if n is None else int(n)
    data = table
    if "p_target_other" not in data.columns or "activity_loc" not in data.columns:
        from ranking.score import rank_candidates  # noqa: PLC0415 (score does not import us)

        data = rank_candidates(table, settings)
    data = data.assign(_id=data["compound_id"].astype(str)).sort_values("_id", kind="mergesort")
    data = data.reset_index(drop=True)
    measured = data["activity_source"] == "measured"
    # Censored measurements enter through their truncated estimate, not their bound.
    best = float(data.loc[measured, "activity_p"].max()) if measured.any() \
        else float(data["activity_p"].max())
    pool = data[_eligible(data, settings)].reset_index(drop=True)
    pool["acquisition_sd"] = pd.to_numeric(pool["activity_sd"]).to_numpy(float)
    penalty = sa_penalty(pool, nb)
    pool.attrs["potency_interval"] = potency_interval([c for stage in settings.stages[
        : settings.stage_index(settings.target_stage) + 1] for c in stage.criteria
        if c.column == POTENCY])
    if nb.acquisition != "thompson":
        pool["acquisition"] = acquisition_values(pool, nb, best)
        # Ties (p_clear saturates at 1 for sure bets) go to the higher potency estimate.
        order = pool.sort_values(["acquisition", "activity_p", "_id"], ascending=[False, False, True],
                                 kind="mergesort").index.to_numpy()
    rng = np.random.default_rng([settings.seed, zlib.crc32(",".join(pool["_id"]).encode())])
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=nb.morgan_radius,
                                                          fpSize=nb.morgan_n_bits)
    fps = [_fingerprint(s, generator) if isinstance(s, str) else None for s in pool["smiles"]]
    taken = np.array([fp is None for fp in fps], dtype=bool)
    picked: list[int] = []
    rows: list[dict] = []
    while len(rows) < size and not taken.all():
        if nb.acquisition == "thompson":
            values = np.where(taken, -np.inf, _thompson_draws(pool, rng) - penalty)
            if not np.isfinite(values).any():
                values = np.where(taken, -np.inf, pool["activity_p"].to_numpy() - penalty)
            candidates = np.argsort(-values, kind="mergesort")
        else:
            values = pool["acquisition"].to_numpy()
            candidates = [i for i in order if not taken[i]]
        choice = None
        for i in candidates:
            if taken[i] or not np.isfinite(values[i]):
                continue
            sims = np.array(DataStructs.BulkTanimotoSimilarity(fps[i], [fps[j] for j in picked])) \
                if picked else np.zeros(0)
            if sims.size and sims.max() > nb.max_tanimoto_to_picked:
                taken[i] = True  # too close to a pick now, and so for the rest of the batch
                continue
            choice = (i, sims)
            break
        if choice is None:
            break
        i, sims = choice
        taken[i] = True
        row = pool.iloc[i]
        nearest = float(sims.max()) if sims.size else np.nan
        nearest_id = pool["_id"].iloc[picked[int(sims.argmax())]] if sims.size else None
        rows.append({"pick": len(rows) + 1, "compound_id": row["compound_id"],
                     "smiles": row["smiles"], "acquisition": float(values[i]),
                     "activity_p": row["activity_p"], "activity_sd": row["activity_sd"],
                     "p_clear_gates": row["p_clear_gates"], "p_target_other": row["p_target_other"],
                     "sa_score": row.get("sa_score", np.nan),
                     "max_tanimoto_to_picked": nearest, "nearest_pick": nearest_id,
                     "reason": _reason(row, float(values[i]), nb, nearest, nearest_id)})
        picked.append(i)
    return pd.DataFrame(rows, columns=NEXT_BATCH_COLUMNS)
