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
