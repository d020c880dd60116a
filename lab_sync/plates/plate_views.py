"""Read-side views of plates and curve fits for the CLI, the web page and the report."""

from __future__ import annotations

import json

import pandas as pd

from lab_sync.store import TwinStore

FIT_COLUMNS = ["fit_id", "plate_uid", "compound_id", "assay_id", "curve_class", "flags", "qualifier",
               "reported_ic50_nm", "ic50_nm",
               "ci_low_nm", "ci_high_nm", "hill", "top", "bottom", "r2", "model", "used", "active",
               "superseded_by", "reason"]


def curve_fit_table(store: TwinStore, project: str, *, active_only: bool = True, compound_id: str | None = None,
                    plate_uid: str | None = None) -> pd.DataFrame:
    """Curve fits of the project (the newest, unsuperseded ones unless ``active_only=False``).

    ``compound_id`` / ``plate_uid`` narrow the query in the store (one compound's or one plate's
    fits), so a page about one of them does not read the project's whole table.
    """
    equals = {k: v for k, v in (("compound_id", compound_id), ("plate_uid", plate_uid)) if v is not None}
    fits = store.read_table("curve_fits", project, **equals)
    if fits.empty:
        return pd.DataFrame(columns=FIT_COLUMNS + ["wells"])
    if active_only:
        fits = fits[fits["active"].astype(bool)]
    fits = fits.assign(wells=[json.loads(w) for w in fits["wells_json"]])
    return fits[FIT_COLUMNS + ["wells"]].reset_index(drop=True)


def curve_classes_by_compound(store: TwinStore, project: str) -> pd.DataFrame:
    """``compound_id, assay_id, curve_classes`` (e.g. ``"complete x2, incomplete"``) of active, used fits."""
    fits = curve_fit_table(store, project)
    fits = fits[fits["used"].astype(bool)] if len(fits) else fits
    rows = []
    for (cid, assay), g in fits.groupby(["compound_id", "assay_id"], sort=True):
        counts = g["curve_class"].value_counts()
        rows.append({"compound_id": cid, "assay_id": assay,
                     "curve_classes": ", ".join(k if n == 1 else f"{k} x{n}" for k, n in counts.items())})
    return pd.DataFrame(rows, columns=["compound_id", "assay_id", "curve_classes"])


def plate_table(store: TwinStore, project: str) -> pd.DataFrame:
    """Plates of the project with their Z', signal window and QC status."""
    cols = ["plate_uid", "plate_id", "upload_id", "assay_id", "n_wells", "z_prime", "signal_window", "qc_status",
            "accepted_by"]
    plates = store.read_table("plates", project)
    return plates[cols] if len(plates) else pd.DataFrame(columns=cols)


def plate_wells_table(store: TwinStore, plate_uid: str) -> pd.DataFrame:
    """A stored plate's wells with 0-based row and column."""
    from lab_sync.plates.wells import parse_well

    wells = store.read_table("plate_wells", plate_uid=plate_uid)
    if wells.empty:
        return wells
    pos = [parse_well(w) for w in wells["well"]]
    return wells.assign(row=[p[0] for p in pos], col=[p[1] for p in pos])


def fit_plot_values(fit: dict) -> dict:
    """The dict :func:`lab_sync.plates.plots.curve_svg` draws, from a ``curve_fits`` row."""
    return {"bottom": fit["bottom"], "top": fit["top"], "ic50_nm": fit["ic50_nm"], "hill": fit["hill"],
            "ci_low_nm": fit.get("ci_low_nm"), "ci_high_nm": fit.get("ci_high_nm"),
            "curve_class": fit.get("curve_class", ""), "qualifier": fit.get("qualifier"),
            "reported_ic50_nm": fit.get("reported_ic50_nm")}
