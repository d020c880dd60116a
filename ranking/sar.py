"""Structure-activity views of a measured series: R-group table on the core, matched pairs and activity cliffs."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.rdRGroupDecomposition import RGroupDecompose

from moltwin.errors import BadInputError

_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def activity_colour(p: float, lo: float, hi: float) -> str:
    """Red (least active) to green (most active) on the series' own range; white for missing."""
    if p != p:
        return "#ffffff"
    t = 0.5 if hi - lo < 1e-9 else (p - lo) / (hi - lo)
    return f"hsl({int(120 * t)}, 65%, 82%)"


def rgroup_table(core_smiles: str, measured: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """R-group decomposition of the measured compounds on ``core_smiles``.

    Parameters
    ----------
    measured
        ``compound_id, smiles, measured_qualifier, measured_p_activity``.

    Returns
    -------
    (table, r_labels)
        One row per compound matching the core: its id, activity and one SMILES per R-group
        (``R1``, ``R2`` ...; "" where that position carries hydrogen); compounds not matching
        the core are left out. Sorted by activity, most active first.
    """
    with rdBase.BlockLogs():
        core = Chem.MolFromSmiles(core_smiles) or Chem.MolFromSmarts(core_smiles)
    if core is None:
        raise BadInputError(f"the series core '{core_smiles[:80]}' is neither SMILES nor SMARTS")
    mols, rows = [], []
    with rdBase.BlockLogs():
        for row in measured.to_dict("records"):
            mol = Chem.MolFromSmiles(row["smiles"])
            if mol is not None:
                mols.append(mol)
                rows.append(row)
        groups, unmatched = RGroupDecompose([core], mols, asSmiles=True) if mols else ([], [])
    unmatched = set(unmatched)
    matched = [r for i, r in enumerate(rows) if i not in unmatched]
    labels = sorted({k for g in groups for k in g if k.startswith("R")}, key=lambda k: int(k[1:]) if k[1:].isdigit() else 99)
    out = []
    for row, group in zip(matched, groups):
        item = {"compound_id": row["compound_id"], "smiles": row["smiles"],
                "measured_qualifier": row["measured_qualifier"], "measured_p_activity": row["measured_p_activity"]}
        for label in labels:
            value = group.get(label, "")
            item[label] = "" if value in ("", "[H][*:1]") or value.startswith("[H]") else value
        out.append(item)
    table = pd.DataFrame(out, columns=["compound_id", "smiles", "measured_qualifier", "measured_p_activity", *labels])
    return table.sort_values("measured_p_activity", ascending=False, kind="stable").reset_index(drop=True), labels


def matched_pairs(table: pd.DataFrame, labels: list[str], top: int = 25) -> pd.DataFrame:
    """Pairs of compounds differing at exactly one R-group position, largest activity change first.

    Only exact (``=``) measurements are compared. Columns: ``compound_a, compound_b, position,
    from_group, to_group, p_a, p_b, delta_p`` (b - a, a being the less active).
    """
    exact = table[table["measured_qualifier"] == "="].to_dict("records")
    pairs = []
    for a, b in combinations(exact, 2):
        differ = [lab for lab in labels if a[lab] != b[lab]]
        if len(differ) != 1:
            continue
        if a["measured_p_activity"] > b["measured_p_activity"]:
            a, b = b, a
        pos = differ[0]
        pairs.append({"compound_a": a["compound_id"], "compound_b": b["compound_id"], "position": pos,
                      "from_group": a[pos] or "H", "to_group": b[pos] or "H", "p_a": a["measured_p_activity"],
                      "p_b": b["measured_p_activity"],
                      "delta_p": b["measured_p_activity"] - a["measured_p_activity"]})
    cols = ["compound_a", "compound_b", "position", "from_group", "to_group", "p_a", "p_b", "delta_p"]
    frame = pd.DataFrame(pairs, columns=cols)
    return frame.sort_values(["delta_p", "compound_a", "compound_b"], ascending=[False, True, True]).head(top) \
        .reset_index(drop=True)


def activity_cliffs(measured: pd.DataFrame, min_similarity: float = 0.6, top: int = 25) -> pd.DataFrame:
    """Most similar pairs with the largest activity gap: SALI = |Δp| / (1 - Tanimoto), largest first.

    Uses every exactly measured compound (core or not); Morgan radius-2 Tanimoto.
    """
    exact = measured[measured["measured_qualifier"] == "="].reset_index(drop=True)
    cols = ["compound_a", "compound_b", "similarity", "p_a", "p_b", "delta_p", "sali"]
    if len(exact) < 2:
        return pd.DataFrame(columns=cols)
    with rdBase.BlockLogs():
        fps = [_MORGAN.GetFingerprint(Chem.MolFromSmiles(s)) for s in exact["smiles"]]
    p = exact["measured_p_activity"].to_numpy(float)
    rows = []
    for i in range(len(fps) - 1):
        sims = np.asarray(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:]))
        for k in np.nonzero(sims >= min_similarity)[0]:
            j = i + 1 + int(k)
            lo, hi = (i, j) if p[i] <= p[j] else (j, i)
            sim = float(sims[k])
            rows.append({"compound_a": exact.at[lo, "compound_id"], "compound_b": exact.at[hi, "compound_id"],
                         "similarity": sim, "p_a": p[lo], "p_b": p[hi], "delta_p": p[hi] - p[lo],
                         "sali": (p[hi] - p[lo]) / max(1.0 - sim, 0.01)})
    frame = pd.DataFrame(rows, columns=cols)
    return frame.sort_values(["sali", "compound_a"], ascending=[False, True]).head(top).reset_index(drop=True)
