"""Pick diverse representatives: MaxMin picking and Butina clustering (Morgan bits)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rdkit import DataStructs
from rdkit.ML.Cluster import Butina
from rdkit.SimDivFilters import rdSimDivPickers

from chem.featurize import MolLike, morgan_bitvects
from moltwin.errors import BadInputError


def maxmin_pick(items: Sequence[MolLike], n: int, *, seed: int = 0, radius: int = 2,
                n_bits: int = 2048, first_picks: Sequence[int] = ()) -> list[int]:
    """Indices of ``n`` diverse molecules by MaxMin picking on Tanimoto distance.

    Parameters
    ----------
    items
        SMILES or molecules.
    n
        How many to pick (all when ``n >= len(items)``).
    seed
        Seed of the first pick (when ``first_picks`` is empty).
    radius, n_bits
        Morgan fingerprint.
    first_picks
        Indices that must be picked first (e.g. compounds already made).
    """
    if n >= len(items):
        return list(range(len(items)))
    fps = morgan_bitvects(items, radius=radius, n_bits=n_bits)
    picker = rdSimDivPickers.MaxMinPicker()
    picks = picker.LazyBitVectorPick(fps, len(fps), n, list(first_picks), seed)
    return list(picks)


def butina_clusters(items: Sequence[MolLike], *, distance_threshold: float = 0.6,
                    radius: int = 2, n_bits: int = 2048) -> list[tuple[int, ...]]:
    """Butina (Taylor-Butina) clusters; each tuple starts with its centroid.

    Clusters come largest first. Memory is quadratic in the number of molecules
    (the lower-triangle distance list), so keep inputs to a few thousand.
    """
    fps = morgan_bitvects(items, radius=radius, n_bits=n_bits)
    dists: list[float] = []
    for i in range(1, len(fps)):
        sims = DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])
        dists.extend(1.0 - s for s in sims)
    return list(Butina.ClusterData(dists, len(fps), distance_threshold, isDistData=True,
                                   reordering=True))


def butina_labels(items: Sequence[MolLike], **options) -> np.ndarray:
    """Cluster number (0 = largest cluster) of each molecule."""
    labels = np.full(len(items), -1, dtype=int)
    for label, members in enumerate(butina_clusters(items, **options)):
        labels[list(members)] = label
    return labels


def select_diverse(df: pd.DataFrame, n: int, *, method: str = "maxmin", seed: int = 0,
                   distance_threshold: float = 0.6) -> pd.DataFrame:
    """Choose ``n`` representative rows of a table with a ``smiles`` column.

    ``maxmin`` picks the most mutually distant molecules; ``butina`` takes the
    centroids of the ``n`` largest clusters (fewer if there are fewer clusters).
    Returned rows keep the input order of the table.
    """
    smiles = list(df["smiles"])
    if method == "maxmin":
        picks = maxmin_pick(smiles, n, seed=seed)
    elif method == "butina":
        picks = [c[0] for c in butina_clusters(smiles, distance_threshold=distance_threshold)[:n]]
    else:
        raise BadInputError(f"unknown diversity method '{method}' (use maxmin or butina)",
                            field="method")
    return df.iloc[sorted(picks)].reset_index(drop=True)
