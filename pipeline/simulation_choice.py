"""Which stored simulation stands for a compound in a twin update: by protocol and status.

"The latest row" is wrong twice over: a later quick test run (another protocol: other
settings, protein or reference poses) would replace the production result, and a later
failure would hide an earlier success of the very same protocol. Here a record counts only
when its ``input_hash`` is the hash the current configuration gives that compound (same
protein, references, settings and simulation code), and only when its run has finished
(``completed``; rows of a run still being written are not visible, nor those of a failed
run). Among those, a successful record beats a failed one; the latest breaks ties.
"""

from __future__ import annotations

import json

import pandas as pd

from pipeline.config import RunConfig

_STATUS_RANK = {"ok": 0}  # anything else (failed) ranks after


def expected_hashes(config: RunConfig, compounds: pd.DataFrame) -> dict[str, str]:
    """``{compound_id: input hash}`` that the configuration's protocol gives each compound.

    A compound with open stereocentres is simulated as its stereoisomers
    (:func:`simulation.stereo.expand_stereoisomers`): their ids (``<id>~s1``, ...) get
    their own hashes, so the isomers' stored runs are found too.
    """
    from simulation.run import SimulationRequest, request_hash  # OpenMM: only when needed
    from simulation.stereo import expand_stereoisomers

    out = {}
    for cid, smiles in zip(compounds["compound_id"], compounds["canonical_smiles"]):
        for item in expand_stereoisomers(str(cid), str(smiles), config.screen.max_stereoisomers):
            request = SimulationRequest(compound_id=item["compound_id"], smiles=item["smiles"],
                                        protein_pdb=config.target.protein_pdb,
                                        reference_ligands_sdf=config.target.reference_ligands_sdf)
            out[item["compound_id"]] = request_hash(request, config.simulate)
    return out


def choose_simulations(sims: pd.DataFrame, runs: pd.DataFrame, expected: dict[str, str]
                       ) -> list[dict]:
    """One record per compound: current protocol, finished run, ok before failed, then latest.

    Parameters
    ----------
    sims
        Rows of the ``simulations`` table.
    runs
        Rows of the ``runs`` table (``run_id``, ``status``).
    expected
        :func:`expected_hashes` of the compounds to consider.
    """
    if sims.empty:
        return []
    finished = set(runs.loc[runs["status"] == "completed", "run_id"])
    visible = sims["run_id"].isna() | sims["run_id"].isin(finished)
    current = sims["input_hash"] == sims["compound_id"].astype(str).map(expected)
    pick = sims[visible & current].copy()
    if pick.empty:
        return []
    pick["_status_rank"] = pick["status"].map(_STATUS_RANK).fillna(1)
    pick = pick.sort_values(["_status_rank", "created_at", "id"], ascending=[True, False, False])
    best = pick.drop_duplicates("compound_id", keep="first").sort_values("compound_id")
    return [json.loads(text) for text in best["record_json"]]
