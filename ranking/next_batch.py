"""Propose the next compounds to make and test: acquisition + alerts gate + diversity."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from scipy.stats import norm

from ranking.derive import add_derived_columns
from ranking.settings import NextBatchSettings, RankSettings

NEXT_BATCH_COLUMNS = ["pick", "compound_id", "smiles", "acquisition", "activity_p", "activity_sd",
                      "sa_score", "max_tanimoto_to_picked", "nearest_pick", "reason"]


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
    """UCB or EI on ``activity_p`` ± ``activity_sd``, minus the SA-score cost penalty."""
    mean = pd.to_numeric(table["activity_p"], errors="coerce").to_numpy(dtype=float)
    sd = pd.to_numeric(table["activity_sd"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    if settings.acquisition == "ucb":
        value = mean + settings.ucb_kappa * sd
    else:
        value = expected_improvement(mean, sd, best_measured, settings.ei_xi)
    return value - sa_penalty(table, settings)


def sa_penalty(table: pd.DataFrame, settings: NextBatchSettings) -> np.ndarray:
    """Synthesis-cost penalty in pActivity units (0 when the SA score is unknown)."""
    if "sa_score" not in table.columns:
        return np.zeros(len(table))
    sa = pd.to_numeric(table["sa_score"], errors="coerce").to_numpy(dtype=float)
    excess = np.clip(sa - settings.sa_free_below, 0.0, None)
    return settings.sa_penalty_per_unit * np.nan_to_num(excess, nan=0.0)


def _eligible(table: pd.DataFrame, settings: NextBatchSettings) -> pd.Series:
    measured = table["measured_p_activity"] if "measured_p_activity" in table.columns else np.nan
    not_measured = pd.to_numeric(pd.Series(measured, index=table.index), errors="coerce").isna()
    has_activity = pd.to_numeric(table["activity_p"], errors="coerce").notna()
    has_structure = table["smiles"].notna()
    # Unknown alerts (filters not run) do not block; a known excess does.
    alerts_ok = ~(table["n_alerts"] > settings.max_alerts)
    admet_ok = ~(table["admet_max_risk"] > settings.max_admet_risk)
    return not_measured & has_activity & has_structure & alerts_ok & admet_ok


def _fingerprint(smiles: str, generator) -> DataStructs.ExplicitBitVect | None:
    mol = Chem.MolFromSmiles(smiles)
    return generator.GetFingerprint(mol) if mol is not None else None


def _reason(row: pd.Series, value: float, nb: NextBatchSettings, nearest: float,
            nearest_id: str | None) -> str:
    sd = row["activity_sd"] if pd.notna(row["activity_sd"]) else 0.0
    if nb.acquisition == "ucb":
        text = (f"UCB {value:.2f} = pred {row['activity_p']:.2f} + {nb.ucb_kappa:g}×{sd:.2f}")
    else:
        text = f"EI {value:.2f} (pred {row['activity_p']:.2f} ± {sd:.2f})"
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


def propose_next_batch(table: pd.DataFrame, n: int | None = None,
                       settings: RankSettings | None = None) -> pd.DataFrame:
    """Pick up to ``n`` not-yet-measured, diverse candidates by acquisition value.

    Candidates with a measurement, no activity estimate, no SMILES, more alerts than
    ``max_alerts`` or an ADMET risk above ``max_admet_risk`` are not eligible. The rest
    are taken greedily in order of acquisition value (ties by ``compound_id``), skipping
    any whose Morgan-fingerprint Tanimoto to an already picked compound exceeds
    ``max_tanimoto_to_picked``.

    Parameters
    ----------
    table
        Merged or ranked candidate table.
    n
        Batch size; ``settings.next_batch.size`` when ``None``.
    settings
        Acquisition, gating and diversity settings.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NEXT_BATCH_COLUMNS`, one row per pick in pick order; ``reason``
        is a one-line explanation. Empty (same columns) when nothing is eligible.
    """
    settings = settings or RankSettings()
    nb = settings.next_batch
    size = nb.size if n is None else int(n)
    data = table if "n_alerts" in table.columns and "admet_max_risk" in table.columns \
        else add_derived_columns(table, settings.default_measured_sd, settings.admet_gate_endpoints)
    data = data.reset_index(drop=True)
    measured = pd.to_numeric(data.get("measured_p_activity", pd.Series(dtype=float)),
                             errors="coerce")
    best = float(measured.max()) if measured.notna().any() \
        else float(pd.to_numeric(data["activity_p"], errors="coerce").max())
    pool = data[_eligible(data, nb)].copy()
    pool["acquisition"] = acquisition_values(pool, nb, best)
    pool["_id"] = pool["compound_id"].astype(str)
    pool = pool.sort_values(["acquisition", "_id"], ascending=[False, True], kind="mergesort")

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=nb.morgan_radius,
                                                          fpSize=nb.morgan_n_bits)
    picked_fps: list = []
    picked_ids: list[str] = []
    rows: list[dict] = []
    for _, row in pool.iterrows():
        if len(rows) >= size:
            break
        fp = _fingerprint(row["smiles"], generator)
        if fp is None:
            continue
        sims = np.array(DataStructs.BulkTanimotoSimilarity(fp, picked_fps)) if picked_fps \
            else np.zeros(0)
        if sims.size and sims.max() > nb.max_tanimoto_to_picked:
            continue
        nearest = float(sims.max()) if sims.size else np.nan
        nearest_id = picked_ids[int(sims.argmax())] if sims.size else None
        rows.append({"pick": len(rows) + 1, "compound_id": row["compound_id"],
                     "smiles": row["smiles"], "acquisition": row["acquisition"],
                     "activity_p": row["activity_p"], "activity_sd": row["activity_sd"],
                     "sa_score": row.get("sa_score", np.nan),
                     "max_tanimoto_to_picked": nearest, "nearest_pick": nearest_id,
                     "reason": _reason(row, row["acquisition"], nb, nearest, nearest_id)})
        picked_fps.append(fp)
        picked_ids.append(row["_id"])
    return pd.DataFrame(rows, columns=NEXT_BATCH_COLUMNS)
