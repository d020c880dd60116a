"""The prediction ledger, scored: how far was the twin from measurements it had not yet seen?

Every prediction is stored with its model id and time (``predictions`` table). A
prediction is *prospective* for a compound when it was made before the compound's
first measurement arrived, i.e. before the earliest ``uploaded_at`` of any upload
holding a measurement of that compound in the series' primary assay (superseded
uploads count: once a value reached the twin, later predictions may have learned
from it). Each prospective prediction is scored against the compound's current
aggregated (active) measurement.

A *cycle* is one model (``model_id``): its predictions may come from several runs
(listed in ``run_ids``). When one model predicted a compound several times before
the measurement, the latest of those predictions is scored.

Scoring:
- exact measurements (``=``): error, RMSE, MAE, bias (predicted - measured), Spearman,
  and whether the 80 % / 90 % intervals covered the measured value;
- censored measurements (``p > x`` or ``p < x``) are never put into the RMSE. They are
  counted separately: ``censored_point_agree`` is the share whose predicted value lies
  on the measured side of the bound; ``censored_hit_80``/``_90`` the share whose interval
  reaches into the measured side (upper bound above x for ``>``, lower bound below x
  for ``<``), i.e. the interval is not contradicted by the measurement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from lab_sync.store import TwinStore
from lab_sync.twin_records import series_activities

ENTRY_COLUMNS = ["model_id", "run_id", "compound_id", "predicted_at", "first_measured_at", "pred_p_activity",
                 "pred_std", "lower_80", "upper_80", "lower_90", "upper_90", "in_domain",
                 "measured_qualifier", "measured_p_activity", "error", "in_80", "in_90"]
CYCLE_COLUMNS = ["cycle", "model_id", "model_kind", "n_train", "first_predicted_at", "run_ids",
                 "n_predicted", "n_prospective", "n_exact", "rmse", "mae", "bias", "spearman",
                 "coverage_80", "coverage_90", "n_in_domain", "rmse_in_domain", "n_censored",
                 "censored_point_agree", "censored_hit_80", "censored_hit_90"]


def _utc(values: pd.Series) -> pd.Series:
    # SQLite hands back naive datetimes (written as UTC); PostgreSQL aware ones.
    return pd.to_datetime(values, utc=True)


def first_measured_times(store: TwinStore, project: str, assay_id: str, endpoint: str) -> pd.Series:
    """Earliest upload time per compound of a measurement in (assay, endpoint), superseded included."""
    meas = store.read_table("measurements", project)
    if meas.empty:
        return pd.Series(dtype="datetime64[ns, UTC]", name="first_measured_at")
    meas = meas[(meas["assay_id"] == assay_id) & (meas["endpoint"].str.removeprefix("p") == endpoint)]
    uploads = store.read_table("uploads", project)[["upload_id", "uploaded_at"]]
    joined = meas.merge(uploads, on="upload_id", how="left")
    joined["uploaded_at"] = _utc(joined["uploaded_at"])
    return joined.groupby("compound_id")["uploaded_at"].min().rename("first_measured_at")


def ledger_entries(store: TwinStore, project: str) -> pd.DataFrame:
    """One row per (model, compound) with a prospective prediction and a measurement now."""
    measured, _ = series_activities(store, project)
    preds = store.read_table("predictions", project, endpoint="p_activity")
    if measured.empty or preds.empty:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    assay_id, endpoint = measured["assay_id"].iloc[0], measured["endpoint"].iloc[0]
    first = first_measured_times(store, project, assay_id, endpoint)
    preds = preds.dropna(subset=["value"]).copy()
    preds["predicted_at"] = _utc(preds["predicted_at"])
    preds = preds.merge(first, left_on="compound_id", right_index=True, how="inner")
    preds = preds[preds["predicted_at"] < preds["first_measured_at"]]
    if preds.empty:
        return pd.DataFrame(columns=ENTRY_COLUMNS)
    preds = preds.sort_values("predicted_at").drop_duplicates(["model_id", "compound_id"], keep="last")
    obs = measured.rename(columns={"p_qualifier": "measured_qualifier", "p_activity": "measured_p_activity"})
    df = preds.merge(obs[["compound_id", "measured_qualifier", "measured_p_activity"]], on="compound_id")
    df = df.rename(columns={"value": "pred_p_activity", "std": "pred_std"})
    exact = df["measured_qualifier"] == "="
    df["error"] = np.where(exact, df["pred_p_activity"] - df["measured_p_activity"], np.nan)
    for tag in ("80", "90"):
        lo, hi, y = df[f"lower_{tag}"], df[f"upper_{tag}"], df["measured_p_activity"]
        hit = np.where(df["measured_qualifier"] == ">", hi > y,
                       np.where(df["measured_qualifier"] == "<", lo < y, (lo <= y) & (y <= hi)))
        df[f"in_{tag}"] = pd.Series(hit, index=df.index).where(lo.notna() & hi.notna())
    return df[ENTRY_COLUMNS].sort_values(["predicted_at", "compound_id"]).reset_index(drop=True)


def _share(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.astype(bool).mean()) if len(values) else float("nan")


def _rmse(errors: pd.Series) -> float:
    return float(np.sqrt(np.mean(np.square(errors)))) if len(errors) else float("nan")


def _score_cycle(entries: pd.DataFrame) -> dict:
    exact = entries[entries["measured_qualifier"] == "="]
    cens = entries[entries["measured_qualifier"] != "="]
    err = exact["error"].astype(float)
    y, p = exact["measured_p_activity"].to_numpy(float), exact["pred_p_activity"].to_numpy(float)
    rho = float(spearmanr(y, p).statistic) if len(y) >= 3 and np.ptp(y) > 0 and np.ptp(p) > 0 else float("nan")
    agree = np.where(cens["measured_qualifier"] == ">", cens["pred_p_activity"] > cens["measured_p_activity"],
                     cens["pred_p_activity"] < cens["measured_p_activity"])
    in_dom = exact[exact["in_domain"].fillna(False).astype(bool)]
    return {"n_prospective": int(len(entries)), "n_exact": int(len(exact)), "rmse": _rmse(err),
            "mae": float(err.abs().mean()) if len(err) else float("nan"),
            "bias": float(err.mean()) if len(err) else float("nan"), "spearman": rho,
            "coverage_80": _share(exact["in_80"]), "coverage_90": _share(exact["in_90"]),
            "n_in_domain": int(len(in_dom)), "rmse_in_domain": _rmse(in_dom["error"].astype(float)),
            "n_censored": int(len(cens)),
            "censored_point_agree": float(agree.mean()) if len(cens) else float("nan"),
            "censored_hit_80": _share(cens["in_80"]), "censored_hit_90": _share(cens["in_90"])}


def score_ledger(store: TwinStore, project: str) -> pd.DataFrame:
    """Per-cycle prospective scores of the project's prediction ledger (oldest cycle first).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CYCLE_COLUMNS`. Every model that predicted anything for the project
        has a row; ``n_prospective`` is 0 while none of its predicted compounds has been
        measured since (the metrics are then NaN).
    """
    preds = store.read_table("predictions", project, endpoint="p_activity")
    if preds.empty:
        return pd.DataFrame(columns=CYCLE_COLUMNS)
    preds["predicted_at"] = _utc(preds["predicted_at"])
    entries = ledger_entries(store, project)
    models = store.read_table("models", project).set_index("model_id")
    rows = []
    for model_id, g in preds.groupby("model_id"):
        runs = sorted({str(r) for r in g["run_id"].dropna()})
        row = {"model_id": model_id, "first_predicted_at": g["predicted_at"].min(), "run_ids": ",".join(runs),
               "n_predicted": int(g["compound_id"].nunique()),
               "model_kind": models["kind"].get(model_id, "") if len(models) else "",
               "n_train": int(models["n_train"].get(model_id, 0)) if len(models) else 0}
        row.update(_score_cycle(entries[entries["model_id"] == model_id]))
        rows.append(row)
    out = pd.DataFrame(rows).sort_values("first_predicted_at").reset_index(drop=True)
    out["cycle"] = np.arange(1, len(out) + 1)
    return out[CYCLE_COLUMNS]
