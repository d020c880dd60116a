"""Reading the series' activities from the twin, and recording models and predictions in it.

Shared by the screen stages and the ``moltwin models`` commands so that every model and
every prediction lands in the store the same way (the prediction ledger).
"""

from __future__ import annotations

import json

import pandas as pd

from lab_sync.aggregate import aggregate_measurements
from lab_sync.plates.plate_views import curve_classes_by_compound
from lab_sync.store import TwinStore, utcnow


def series_activities(store: TwinStore, project: str, *, with_smiles: bool = True) -> tuple[pd.DataFrame, str]:
    """Aggregated activities of the project's primary assay, with canonical SMILES.

    The primary assay is the (assay, endpoint) pair measuring the most compounds.
    Returns the table (``compound_id, smiles, p_activity, p_qualifier, p_activity_sd,
    n_replicates, ...``) and a label of the assay used ("" when there are no measurements).
    ``with_smiles=False`` leaves the SMILES out (callers that already hold the compounds).
    """
    agg = aggregate_measurements(store.read_table("measurements", project))
    if agg.empty:
        return agg.assign(smiles=pd.Series(dtype=str)), ""
    assay, endpoint = agg.groupby(["assay_id", "endpoint"])["compound_id"].nunique().idxmax()
    agg = agg[(agg["assay_id"] == assay) & (agg["endpoint"] == endpoint)]
    if not with_smiles:
        return agg.reset_index(drop=True), f"{assay} ({endpoint})"
    compounds = store.read_table("compounds", project)[["compound_id", "canonical_smiles"]]
    table = agg.merge(compounds, on="compound_id", how="left").rename(columns={"canonical_smiles": "smiles"})
    # Potencies fitted from plates carry their curve classes ("complete x2, incomplete") into the report.
    classes = curve_classes_by_compound(store, project)
    table = table.merge(classes, on=["compound_id", "assay_id"], how="left").fillna({"curve_classes": ""})
    return table.reset_index(drop=True), f"{assay} ({endpoint})"


def as_float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def record_model(store: TwinStore, project: str, model, path: str, settings_json: str, conn=None) -> None:
    """Add a trained model to the store's ``models`` table (once per model id)."""
    with store._conn(conn) as c:
        store.ensure_project(project, conn=c)
        if not store.read_table("models", model_id=model.model_id).empty:
            return
        meta = model.metadata
        store.insert_rows("models", [{
            "model_id": model.model_id, "project": project, "kind": model.kind, "created_at": utcnow(),
            "training_hash": str(meta.get("training_data_sha256", "")), "n_train": int(meta.get("n_train", 0)),
            "metrics_json": json.dumps(meta.get("cv_metrics", {}), default=str),
            "params_json": settings_json, "path": str(path)}], conn=c)


def record_predictions(store: TwinStore, project: str, predictions: pd.DataFrame, model_id: str,
                       run_id: str | None = None, conn=None) -> int:
    """Write predictions to the ledger with the model id and a timestamp."""
    now = utcnow()
    rows = [{
        "project": project, "compound_id": str(r["compound_id"]), "model_id": model_id,
        "endpoint": "p_activity", "value": as_float(r.get("pred_p_activity")), "std": as_float(r.get("pred_std")),
        "lower_80": as_float(r.get("lower_80")), "upper_80": as_float(r.get("upper_80")),
        "lower_90": as_float(r.get("lower_90")), "upper_90": as_float(r.get("upper_90")),
        "max_train_similarity": as_float(r.get("max_train_similarity")),
        "in_domain": bool(r.get("in_domain")) if r.get("in_domain") is not None else None,
        "predicted_at": now, "run_id": run_id} for r in predictions.to_dict("records")]
    return store.insert_rows("predictions", rows, conn=conn)
