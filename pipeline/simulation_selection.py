"""What a screen simulates, in order: measured references for the calibration, then candidates.

The simulation stage's work list (:func:`select_for_simulation`); ``pipeline.stages``
re-exports it for the flows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.run_context import RunContext, read_table


def select_measured_references(measured: pd.DataFrame, n: int) -> list[dict]:
    """``n`` exactly measured compounds spread evenly over the measured pActivity range.

    The calibration line needs spread in potency more than numbers; taking evenly spaced
    ranks (weakest and strongest included, compound id breaking ties) is deterministic, so
    a rerun asks for the same simulations and finds them in the cache.
    """
    if n <= 0 or measured.empty or "p_activity" not in measured:
        return []
    exact = measured.dropna(subset=["p_activity", "smiles"])
    if "p_qualifier" in exact:
        exact = exact[exact["p_qualifier"].fillna("=").astype(str).isin(["=", ""])]
    exact = exact.sort_values(["p_activity", "compound_id"]).reset_index(drop=True)
    if exact.empty:
        return []
    picks = sorted({int(i) for i in np.linspace(0, len(exact) - 1, min(n, len(exact))).round()})
    return [{"compound_id": str(exact.at[i, "compound_id"]), "smiles": str(exact.at[i, "smiles"]),
             "role": "measured_reference"} for i in picks]


def select_for_simulation(ctx: RunContext) -> list[dict]:
    """What the simulation stage runs, in order: measured references, then candidates.

    First ``screen.simulate_measured_n`` measured compounds (so that physics can be
    calibrated against the series; only when candidates are simulated at all), then the
    top ``screen.simulate_top_n`` kept candidates by predicted activity (in the model's
    domain first). A candidate with open stereocentres becomes one item per stereoisomer
    (at most ``screen.max_stereoisomers``; :mod:`simulation.stereo`); one with more is kept
    as given and is refused by the simulation (``undefined_stereo``), so candidates that
    can be simulated take the slots first.
    """
    cfg = ctx.config
    n = cfg.screen.simulate_top_n if cfg.target.protein_pdb else 0  # no protein, no MD
    preds = read_table(ctx, "predictions")
    kept = read_table(ctx, "filter_kept")
    if n == 0 or preds.empty or kept.empty:
        return []
    from rdkit import Chem

    from simulation.stereo import expand_stereoisomers

    limit = cfg.screen.max_stereoisomers
    pool = preds[preds["compound_id"].isin(kept["compound_id"])].dropna(subset=["pred_p_activity"])
    items = {cid: expand_stereoisomers(cid, smi, limit) if Chem.MolFromSmiles(smi) is not None
             else [{"compound_id": cid, "smiles": smi}]
             for cid, smi in zip(pool["compound_id"], pool["smiles"])}
    pool = pool.assign(stereo_simulable=pool["compound_id"].map(
        lambda cid: "parent_compound_id" in items[cid][0]
        or not _has_open_stereo(items[cid][0]["smiles"])))
    pool = pool.sort_values(["in_domain", "stereo_simulable", "pred_p_activity", "compound_id"],
                            ascending=[False, False, False, True])
    chosen = [item for cid in pool.head(n)["compound_id"] for item in items[cid]]
    references = select_measured_references(read_table(ctx, "measured"), cfg.screen.simulate_measured_n)
    return references + chosen


def _has_open_stereo(smiles: str) -> bool:
    from rdkit import Chem

    from simulation.pose import undefined_stereo

    mol = Chem.MolFromSmiles(smiles)
    return mol is not None and bool(undefined_stereo(mol))
