"""Summaries of an MD frames table: pose stability and MM/GBSA estimate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulation.uncertainty import mean_and_standard_error

STABLE_RMSD_ANGSTROM = 2.0


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def pose_stability(frames: pd.DataFrame, rmsd_cutoff_angstrom: float = STABLE_RMSD_ANGSTROM) -> dict:
    """Ligand RMSD statistics over the frames.

    Parameters
    ----------
    frames
        Table with a ``ligand_rmsd_A`` column (and ``n_contacts``).
    rmsd_cutoff_angstrom
        A frame counts as "in the pose" when its RMSD is at most this.

    Returns
    -------
    dict
        ``rmsd_mean_A``, ``rmsd_max_A``, ``frac_frames_within_2A``, ``contacts_mean``
        (NaN when there are no frames).
    """
    rmsd = frames["ligand_rmsd_A"].to_numpy(dtype=float)
    contacts = frames["n_contacts"].to_numpy(dtype=float) if "n_contacts" in frames else np.array([])
    return {
        "rmsd_mean_A": _mean(rmsd),
        "rmsd_max_A": float(rmsd.max()) if rmsd.size else math.nan,
        "frac_frames_within_2A": float((rmsd <= rmsd_cutoff_angstrom).mean()) if rmsd.size else math.nan,
        "contacts_mean": _mean(contacts),
    }


#: Candidate stability measures of :func:`stability_measures` -> True when higher means more stable
#: (``bench/pose_stability.py`` ranks them by ROC AUC on native vs wrong poses).
STABILITY_HIGHER_IS_STABLE = {
    "rmsd_mean_A": False, "rmsd_last_half_A": False, "rmsd_drift_A": False,
    "frac_frames_within_2A": True, "frac_frames_within_1A": True,
    "contacts_retained": True, "contacts_per_heavy_atom": True,
    "mmgbsa_per_heavy_atom": False, "mmgbsa_drift_kcal_mol": False,
}


def stability_measures(frames: pd.DataFrame, n_ligand_heavy_atoms: int | None = None) -> dict:
    """Candidate measures of whether a simulated pose holds (see ``STABILITY_HIGHER_IS_STABLE``).

    Parameters
    ----------
    frames
        Frames table (``ligand_rmsd_A`` to the input pose, ``n_contacts``, ``mmgbsa_kcal_mol``).
    n_ligand_heavy_atoms
        For the per-heavy-atom measures (NaN without it).

    Returns
    -------
    dict
        The :func:`pose_stability` figures plus: RMSD mean over the last half of the
        frames and its rise from the first frame (drift during MD, minimization
        excluded); fraction of frames within 1 Å; contacts of the last half relative
        to the first frame, and per ligand heavy atom; MM/GBSA per heavy atom and its
        drift (last half minus first frame).
    """
    out = pose_stability(frames)
    out["frac_frames_within_1A"] = pose_stability(frames, 1.0)["frac_frames_within_2A"]
    n = len(frames)
    if n == 0:
        return {**out, **{k: math.nan for k in STABILITY_HIGHER_IS_STABLE if k not in out}}
    last = frames.iloc[n // 2:]
    rmsd = frames["ligand_rmsd_A"].to_numpy(dtype=float)
    contacts = frames["n_contacts"].to_numpy(dtype=float)
    energy = frames["mmgbsa_kcal_mol"].to_numpy(dtype=float)
    heavy = float(n_ligand_heavy_atoms) if n_ligand_heavy_atoms else math.nan
    out.update({
        "rmsd_last_half_A": float(last["ligand_rmsd_A"].mean()),
        "rmsd_drift_A": float(last["ligand_rmsd_A"].mean() - rmsd[0]),
        "contacts_retained": float(last["n_contacts"].mean() / contacts[0]) if contacts[0] > 0 else 0.0,
        "contacts_per_heavy_atom": float(contacts.mean() / heavy),
        "mmgbsa_per_heavy_atom": float(energy.mean() / heavy),
        "mmgbsa_drift_kcal_mol": float(last["mmgbsa_kcal_mol"].mean() - energy[0]),
    })
    return out


def mmgbsa_estimate(frames: pd.DataFrame) -> dict:
    """Single-trajectory MM/GBSA mean and its standard error over frames, kcal/mol.

    Frames before the detected equilibration point are discarded and the
    standard error accounts for the correlation between frames
    (:func:`simulation.uncertainty.mean_and_standard_error`), never the naive
    ``std / sqrt(N)`` (kept as ``mmgbsa_naive_sem_kcal_mol`` for comparison).

    Parameters
    ----------
    frames
        Table with ``mmgbsa_kcal_mol`` = E_complex − E_receptor − E_ligand per frame.

    Returns
    -------
    dict
        ``mmgbsa_kcal_mol``, ``mmgbsa_sem_kcal_mol``, ``mmgbsa_naive_sem_kcal_mol``,
        ``mmgbsa_statistical_inefficiency``, ``mmgbsa_frames_discarded``.
    """
    stats = mean_and_standard_error(frames["mmgbsa_kcal_mol"].to_numpy(dtype=float))
    return {"mmgbsa_kcal_mol": stats["mean"], "mmgbsa_sem_kcal_mol": stats["sem"],
            "mmgbsa_naive_sem_kcal_mol": stats["naive_sem"],
            "mmgbsa_statistical_inefficiency": stats["g"],
            "mmgbsa_frames_discarded": stats["n_discarded"]}


def summarize_frames(frames: pd.DataFrame) -> dict:
    """Pose stability + MM/GBSA + frame count, as one flat dict."""
    return {"n_frames": int(len(frames)), **pose_stability(frames), **mmgbsa_estimate(frames)}


def combine_replicas(summaries: list[dict]) -> dict:
    """One summary from independent replicas (same start, different velocities).

    The MM/GBSA estimate is the mean of the replica means. Its standard error is
    the larger of the between-replica error ``std(means) / sqrt(n)`` and the
    within-replica errors combined ``sqrt(Σ sem²) / n``: with 2–3 replicas the
    first alone is itself noisy, the second alone misses what a single trajectory
    never visits. Frame-level figures (RMSD, contacts, fraction within 2 Å) are
    means over replicas; ``n_frames`` and frames discarded are totals;
    ``mmgbsa_replica_sd_kcal_mol`` is the spread of the replica means.
    """
    if len(summaries) == 1:
        return {**summaries[0], "mmgbsa_replica_sd_kcal_mol": math.nan, "n_replicas": 1}
    means = np.array([s["mmgbsa_kcal_mol"] for s in summaries], dtype=float)
    sems = np.array([s["mmgbsa_sem_kcal_mol"] for s in summaries], dtype=float)
    n = int(np.isfinite(means).sum())
    out = {key: float(np.nanmean([s[key] for s in summaries])) for key in summaries[0]
           if key not in ("n_frames", "mmgbsa_frames_discarded")}
    out["n_frames"] = int(sum(s["n_frames"] for s in summaries))
    out["mmgbsa_frames_discarded"] = int(sum(s["mmgbsa_frames_discarded"] for s in summaries))
    out["rmsd_max_A"] = float(np.nanmax([s["rmsd_max_A"] for s in summaries]))
    sd = float(np.nanstd(means, ddof=1)) if n >= 2 else math.nan
    within = float(np.sqrt(np.nansum(sems ** 2))) / n if n else math.nan
    out["mmgbsa_sem_kcal_mol"] = float(np.nanmax([sd / math.sqrt(n), within])) if n >= 2 else within
    out["mmgbsa_naive_sem_kcal_mol"] = float(np.sqrt(np.nansum(
        np.array([s["mmgbsa_naive_sem_kcal_mol"] for s in summaries]) ** 2))) / max(n, 1)
    out["mmgbsa_replica_sd_kcal_mol"] = sd
    out["n_replicas"] = len(summaries)
    return out
