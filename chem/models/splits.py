"""Train/test splits of an activity table: random, Bemis-Murcko scaffold, and time."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from chem.models.features import parse_smiles
from moltwin.errors import ModelError

SplitKind = Literal["random", "scaffold", "time"]


def random_split(n_rows: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle rows and hold out ``test_fraction`` of them; returns sorted (train, test) row positions."""
    order = np.random.default_rng(seed).permutation(n_rows)
    n_test = max(1, int(round(test_fraction * n_rows)))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@lru_cache(maxsize=200_000)  # cross-validation asks again for the same rows in every fold
def murcko_scaffold(smiles: str) -> str:
    """Bemis-Murcko scaffold SMILES ("" for acyclic or unparsable molecules)."""
    mol, _ = parse_smiles(smiles)
    if mol is None:
        return ""
    return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(mol))


def scaffold_split(smiles: list[str], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out whole Bemis-Murcko scaffold groups, so test scaffolds are unseen in training.

    Groups larger than half the test size always go to training (otherwise one
    big scaffold could make up the whole test set); the remaining groups are
    shuffled with ``seed`` and moved to the test set until it is full. This is
    the "balanced scaffold split" used in the MoleculeNet/chemprop literature.
    """
    scaffolds = pd.Series([murcko_scaffold(s) for s in smiles])
    groups = list(scaffolds.groupby(scaffolds, sort=True).indices.values())
    n_test_target = max(1, int(round(test_fraction * len(smiles))))
    # Groups above half the test size are never moved, so they stay in training.
    small = [g for g in groups if len(g) <= n_test_target / 2]
    rng = np.random.default_rng(seed)
    test: list[int] = []
    for i in rng.permutation(len(small)):
        if len(test) + len(small[i]) <= n_test_target:
            test.extend(small[i])
    if not test:  # every group is large: fall back to the smallest group
        test = list(min(groups, key=len))
    test_idx = np.sort(np.asarray(test, dtype=int))
    train_idx = np.setdiff1d(np.arange(len(smiles)), test_idx)
    return train_idx, test_idx


def time_split(dates: pd.Series, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Hold out the most recent ``test_fraction`` of rows (rows sharing the cut-off date go to test)."""
    parsed = pd.to_datetime(dates, errors="coerce")
    if parsed.isna().any():
        raise ModelError(f"time split: {int(parsed.isna().sum())} row(s) have a missing or unparsable date")
    values = parsed.to_numpy()
    order = np.argsort(values, kind="stable")
    n_test = max(1, int(round(test_fraction * len(values))))
    cutoff = values[order[len(values) - n_test]]
    test = np.flatnonzero(values >= cutoff)
    return np.setdiff1d(np.arange(len(values)), test), test


def split_rows(data: pd.DataFrame, split: SplitKind, test_fraction: float = 0.2, seed: int = 0,
               date_col: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (train, test) of ``data`` for a split kind.

    Parameters
    ----------
    data
        Activity table with a ``smiles`` column (and ``date_col`` for a time split).
    split
        ``random``, ``scaffold`` (Bemis-Murcko groups) or ``time`` (by ``date_col``).
    test_fraction
        Share of rows to hold out.
    seed
        Seed for the random and scaffold splits.
    date_col
        Column with measurement or registration dates; required for ``time``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ModelError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if split == "random":
        return random_split(len(data), test_fraction, seed)
    if split == "scaffold":
        return scaffold_split(data["smiles"].tolist(), test_fraction, seed)
    if split == "time":
        if not date_col or date_col not in data.columns:
            raise ModelError(f"time split needs an existing date column, got date_col={date_col!r}")
        return time_split(data[date_col], test_fraction)
    raise ModelError(f"unknown split {split!r}; use 'random', 'scaffold' or 'time'")
