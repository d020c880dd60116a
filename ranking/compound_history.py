"""Everything the twin knows about one compound, over time: measurements, prospective predictions,
simulations, ADMET and decisions across runs.

A prediction counts as *prospective* here when it was made before the compound's first
measurement of any assay reached the twin (the earliest upload holding one, superseded
uploads included): stricter than the ledger's primary-assay rule, so nothing shown as
evidence was made with the answer in hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from lab_sync.store import TwinStore
from ranking.derive import admet_columns
from ranking.poses import PoseView, locate_run_dir, read_end_pose, read_pose


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True)


def compound_row(store: TwinStore, project: str, compound_id: str) -> dict | None:
    rows = store.read_table("compounds", project, compound_id=compound_id)
    if rows.empty:
        return None
    row = rows.iloc[0].to_dict()
    try:
        row["provenance"] = json.loads(row.get("provenance") or "{}")
    except ValueError:
        row["provenance"] = {"text": row.get("provenance")}
    return row


def measurement_history(store: TwinStore, project: str, compound_id: str) -> pd.DataFrame:
    """Every measurement row of the compound with its upload (file, time, who, superseded by), oldest first."""
    meas = store.read_table("measurements", project, compound_id=compound_id)
    if meas.empty:
        return meas.assign(filename=[], uploaded_at=[], uploader=[], upload_status=[], superseded_by=[])
    uploads = store.read_table("uploads", project)[["upload_id", "filename", "uploaded_at", "uploader", "status",
                                                    "superseded_by"]].rename(columns={"status": "upload_status"})
    out = meas.merge(uploads, on="upload_id", how="left")
    out["uploaded_at"] = _utc(out["uploaded_at"])
    return out.sort_values(["uploaded_at", "assay_id", "source_row"]).reset_index(drop=True)


def prospective_predictions(store: TwinStore, project: str, compound_id: str,
                            history: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timestamp | None, int]:
    """Predictions made before the first measurement; also that time and how many later ones were hidden."""
    preds = store.read_table("predictions", project, compound_id=compound_id)
    if preds.empty:
        return preds, None, 0
    preds["predicted_at"] = _utc(preds["predicted_at"])
    preds = preds.sort_values("predicted_at").reset_index(drop=True)
    first = history["uploaded_at"].min() if len(history) else None
    if first is None or pd.isna(first):
        return preds, None, 0
    before = preds[preds["predicted_at"] < first]
    return before.reset_index(drop=True), first, int(len(preds) - len(before))


def simulation_history(store: TwinStore, project: str, compound_id: str) -> list[dict]:
    """Simulation rows, newest first, each with RMSD numbers from its record and its run folder when found."""
    sims = store.read_table("simulations", project, compound_id=compound_id)
    out = []
    for row in sims.sort_values("created_at", ascending=False).to_dict("records"):
        try:
            record = json.loads(row.get("record_json") or "{}")
        except ValueError:
            record = {}
        row["rmsd_mean_A"] = record.get("rmsd_mean_A")
        row["rmsd_max_A"] = record.get("rmsd_max_A")
        row["pose_method"] = record.get("pose_method", "")
        row["run_dir"] = locate_run_dir(record.get("frames_parquet"))
        row["frames_parquet"] = record.get("frames_parquet", "")
        out.append(row)
    return out


def rmsd_trace(sim: dict) -> pd.DataFrame:
    """``time_ps, ligand_rmsd_A`` of one simulation (empty when its frames are gone)."""
    run_dir = sim.get("run_dir")
    if run_dir is None:
        return pd.DataFrame(columns=["time_ps", "ligand_rmsd_A"])
    path = Path(run_dir) / Path(str(sim["frames_parquet"])).name
    try:
        return pd.read_parquet(path, columns=["time_ps", "ligand_rmsd_A"])
    except (OSError, ValueError, KeyError):
        return pd.DataFrame(columns=["time_ps", "ligand_rmsd_A"])


def start_pose(sim: dict) -> PoseView | None:
    return read_pose(Path(sim["run_dir"]), str(sim["compound_id"]), 0) if sim.get("run_dir") else None


def end_pose(sim: dict) -> PoseView | None:
    """The pose at the end of the run (its last checkpoint), ``None`` when the folder lacks one."""
    return read_end_pose(Path(sim["run_dir"]), str(sim["compound_id"]), 0) if sim.get("run_dir") else None


def decision_history(store: TwinStore, project: str, compound_id: str) -> list[dict]:
    """The compound's decision in every ranked run, oldest first, flagging where it changed and why."""
    ranks = store.read_table("rankings", project, compound_id=compound_id)
    if ranks.empty:
        return []
    runs = store.read_table("runs", project)[["run_id", "kind", "started_at", "results_dir"]]
    table = ranks.merge(runs, on="run_id", how="left")
    table["started_at"] = _utc(table["started_at"])
    out, previous = [], None
    for row in table.sort_values(["started_at", "id"]).to_dict("records"):
        try:
            details = json.loads(row.get("details_json") or "{}")
        except ValueError:
            details = {}
        row["criteria_met"] = details.get("criteria_met") or ""
        row["criteria_missed"] = details.get("criteria_missed") or ""
        row["changed"] = previous is not None and (row["decision"], row["stage"]) != previous
        previous = (row["decision"], row["stage"])
        out.append(row)
    return out


def admet_of(compound_id: str, decisions: list[dict]) -> tuple[dict[str, float], str]:
    """ADMET risks from the newest ranked run's table holding them, and that run's id ("" when none)."""
    for row in reversed(decisions):
        path = Path(str(row.get("results_dir") or "")) / "ranked_candidates.parquet"
        if not path.is_file():
            continue
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError):
            continue
        cols = admet_columns(table)
        hit = table[table["compound_id"].astype(str) == str(compound_id)]
        if cols and len(hit):
            values = {c: float(hit.iloc[0][c]) for c in cols if pd.notna(hit.iloc[0][c])}
            if values:
                return values, str(row["run_id"])
    return {}, ""
