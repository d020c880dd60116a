"""Writing plates, wells and curve fits to the twin, and re-fits that supersede earlier fits.

A fitted potency is an ordinary row of ``measurements`` (endpoint IC50, qualifier ``=``, ``>`` or
``<``) so aggregation, training and the ledger read it as they read any other; ``curve_fits`` links
it to its plate and wells (``wells_json``: concentration, % inhibition, masked and why). A re-fit
(a well masked or unmasked by hand, a failed plate accepted) writes a new fit and a new measurement
and marks the earlier ones inactive with ``superseded_by``: nothing is deleted.
"""

from __future__ import annotations

import json
import math
import uuid

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from lab_sync import schema
from lab_sync.plates.analyse import CurveResult, PlateResult, WellResult, fit_curve_wells
from lab_sync.plates.settings import PlateSettings
from lab_sync.store import TwinStore, utcnow
from moltwin.errors import BadInputError


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def insert_plate(conn: Connection, project: str, upload_id: str, plate: PlateResult) -> str:
    """Store a plate and all its wells; returns its ``plate_uid``."""
    uid = f"{upload_id}:{plate.plate_id}"
    qc = plate.qc
    conn.execute(insert(schema.plates).values(
        plate_uid=uid, project=project, upload_id=upload_id, plate_id=plate.plate_id, assay_id=plate.assay_id,
        n_wells=qc.n_wells, high_mean=qc.high_mean, high_sd=qc.high_sd, low_mean=qc.low_mean, low_sd=qc.low_sd,
        z_prime=_finite(qc.z_prime), signal_window=_finite(qc.signal_window), qc_status=plate.status,
        accepted_by="", accepted_at=None))
    conn.execute(insert(schema.plate_wells), [{
        "plate_uid": uid, "well": w.well, "well_type": w.well_type, "compound_id": w.compound_id,
        "conc_nm": w.conc_nm, "signal": w.signal, "pct_inhibition": w.pct_inhibition, "masked": w.masked,
        "mask_reason": w.mask_reason, "source_row": w.source_row} for w in plate.wells])
    return uid


def insert_curve(conn: Connection, project: str, upload_id: str, plate_uid: str, curve: CurveResult,
                 reason: str) -> str:
    """Store one curve fit and, when it is used, its potency as a measurement; returns the fit id."""
    measurement_id = None
    call = curve.call
    if curve.used:
        ic50 = float(call.ic50_nm)
        measurement_id = conn.execute(insert(schema.measurements).values(
            project=project, compound_id=curve.compound_id, assay_id=curve.assay_id, endpoint="IC50",
            qualifier=call.qualifier, value=ic50, units="nM", value_nm=ic50, p_activity=9 - math.log10(ic50),
            test_concentration_nm=None, replicate=curve.plate_id, test_date=curve.read_time,
            operator=curve.operator, upload_id=upload_id, source_row=curve.first_row, active=True)
        ).inserted_primary_key[0]
    # plate_wells holds each well's current mask; the fit's wells_json keeps the masks it was fitted with.
    for w in curve.wells:
        conn.execute(update(schema.plate_wells).where(
            (schema.plate_wells.c.plate_uid == plate_uid) & (schema.plate_wells.c.well == w.well))
            .values(masked=w.masked, mask_reason=w.mask_reason))
    fit_id = uuid.uuid4().hex[:16]
    f = curve.fit
    conn.execute(insert(schema.curve_fits).values(
        fit_id=fit_id, project=project, plate_uid=plate_uid, compound_id=curve.compound_id,
        assay_id=curve.assay_id, model=f.model, ic50_nm=_finite(f.ic50_nm), ci_low_nm=_finite(f.ci_low_nm),
        ci_high_nm=_finite(f.ci_high_nm), hill=f.hill, top=f.top, bottom=f.bottom, r2=f.r2,
        n_points=f.n_points, curve_class=call.curve_class, flags=",".join(call.flags), qualifier=call.qualifier,
        reported_ic50_nm=call.ic50_nm,
        wells_json=json.dumps([w.point() for w in curve.wells]), used=curve.used,
        measurement_id=measurement_id, active=True, superseded_by=None, reason=reason, created_at=utcnow()))
    return fit_id


def _plate_row(conn: Connection, project: str, plate: str):
    p = schema.plates
    rows = conn.execute(select(p).where((p.c.project == project) & ((p.c.plate_uid == plate) | (p.c.plate_id == plate)))
                        .order_by(p.c.plate_uid)).all()
    if not rows:
        raise BadInputError(f"no plate '{plate}' in project {project}; see `moltwin assays plates --project "
                            f"{project}`", field="plate")
    if len(rows) > 1:
        raise BadInputError(f"plate id '{plate}' was uploaded {len(rows)} times; name one of: "
                            + ", ".join(r.plate_uid for r in rows), field="plate")
    return rows[0]


def _refit(conn: Connection, project: str, fit_row, plate_row, settings: PlateSettings, reason: str,
           force_mask: dict[str, str], unmask: set[str]) -> dict:
    """New fit of ``fit_row``'s wells that supersedes it (and its measurement)."""
    points = json.loads(fit_row.wells_json)
    wells = []
    for pt in points:
        w = WellResult(pt["well"], "sample", fit_row.compound_id, pt["conc_nm"], math.nan, pt["pct_inhibition"], 0)
        if pt["well"] in force_mask:
            w.masked, w.mask_reason = True, force_mask[pt["well"]]
        elif pt["masked"] and pt["reason"].startswith("masked by") and pt["well"] not in unmask:
            w.masked, w.mask_reason = True, pt["reason"]  # earlier hand masks stay; automatic ones are redone
        wells.append(w)
    fit, call = fit_curve_wells(wells, settings)
    m = schema.measurements
    old_m = conn.execute(select(m).where(m.c.id == fit_row.measurement_id)).first() if fit_row.measurement_id else None
    usable = plate_row.qc_status in {"passed", "accepted"}
    curve = CurveResult(plate_row.plate_id, fit_row.compound_id, "", fit_row.assay_id, fit, call, wells,
                        usable and call.ic50_nm is not None, old_m.source_row if old_m else 0,
                        old_m.test_date if old_m else "", old_m.operator if old_m else "")
    new_id = insert_curve(conn, project, plate_row.upload_id, plate_row.plate_uid, curve, reason)
    cf = schema.curve_fits
    conn.execute(update(cf).where(cf.c.fit_id == fit_row.fit_id).values(active=False, superseded_by=new_id))
    if fit_row.measurement_id:
        conn.execute(update(m).where(m.c.id == fit_row.measurement_id).values(active=False))
    return {"superseded_fit": fit_row.fit_id, "fit_id": new_id, **curve.summary()}


def mask_wells(store: TwinStore, project: str, plate: str, wells: list[str], reason: str, *, user: str = "cli",
               unmask: bool = False, settings: PlateSettings | None = None) -> list[dict]:
    """Mask (or unmask) sample wells of a plate by hand and re-fit the curves they belong to."""
    from lab_sync.plates.wells import parse_well, well_name

    names = {well_name(*parse_well(w)) for w in wells}
    cf = schema.curve_fits
    out = []
    with store.transaction() as conn:
        store.lock_project(conn, project)
        prow = _plate_row(conn, project, plate)
        fits = conn.execute(select(cf).where((cf.c.plate_uid == prow.plate_uid) & cf.c.active)).all()
        hit = [f for f in fits if names & {p["well"] for p in json.loads(f.wells_json)}]
        found = {p["well"] for f in hit for p in json.loads(f.wells_json)} & names
        if names - found:
            raise BadInputError(f"well(s) {', '.join(sorted(names - found))} of plate {prow.plate_id} are in no "
                                "fitted curve", field="well")
        why = f"masked by {user}: {reason}" if not unmask else ""
        for f in hit:
            mine = names & {p["well"] for p in json.loads(f.wells_json)}
            out.append(_refit(conn, project, f, prow, settings or PlateSettings(),
                              f"{'unmasked' if unmask else 'masked'} {', '.join(sorted(mine))} by {user}: {reason}",
                              {} if unmask else {w: why for w in mine}, mine if unmask else set()))
    return out


def accept_plate(store: TwinStore, project: str, plate: str, *, user: str = "cli",
                 settings: PlateSettings | None = None) -> list[dict]:
    """Accept a plate that failed QC: its curves are re-fitted and their potencies used."""
    p, cf = schema.plates, schema.curve_fits
    with store.transaction() as conn:
        store.lock_project(conn, project)
        prow = _plate_row(conn, project, plate)
        if prow.qc_status != "failed":
            raise BadInputError(f"plate {prow.plate_id} is '{prow.qc_status}', not failed; nothing to accept",
                                field="plate")
        conn.execute(update(p).where(p.c.plate_uid == prow.plate_uid).values(
            qc_status="accepted", accepted_by=user, accepted_at=utcnow()))
        prow = _plate_row(conn, project, prow.plate_uid)
        fits = conn.execute(select(cf).where((cf.c.plate_uid == prow.plate_uid) & cf.c.active)).all()
        return [_refit(conn, project, f, prow, settings or PlateSettings(), f"plate accepted by {user}", {}, set())
                for f in fits]
