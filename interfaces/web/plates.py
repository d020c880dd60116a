"""Plate-reader uploads on the web page: check or store a plate file, see each plate's heat map and
Z' and each compound's curve; accept a plate that failed QC.

A check is a dry run (``moltwin assays upload-plate --dry-run``); "store" commits at once (uploader
role) and starts the twin update. Stored plates are shown from the twin store, so the figures are
those of the curves the twin uses.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from interfaces.web.context import SMALL_FORM_BYTES, WebContext, current_session, get_ctx
from interfaces.web.forms import BadForm, BodyTooLarge, read_form
from interfaces.web.pages import project_url, signin_redirect
from interfaces.web.twin_services import known_project, project_or_404, viewer_in_project
from interfaces.web.uploads import display_name
from interfaces.web.users import Session, csrf_ok
from lab_sync.plates.analyse import PlateAnalysis
from lab_sync.plates.plate_store import accept_plate
from lab_sync.plates.plate_upload import upload_plate_file
from lab_sync.plates.plate_views import curve_fit_table, fit_plot_values, plate_table, plate_wells_table
from lab_sync.plates.plots import curve_svg, plate_heatmap_svg
from lab_sync.plates.wells import parse_well
from moltwin.errors import BadInputError, MolTwinError

router = APIRouter()
_BODY_SLACK = 64 * 1024


def _img(svg: str) -> str:
    """An ``<img>`` data URI (the page's CSP allows ``img-src data:``; the SVG cannot touch the page)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def plates_url(project: str) -> str:
    return project_url(project) + "/plates"


def plate_url(project: str, plate_uid: str) -> str:
    return plates_url(project) + "/" + quote(plate_uid, safe="")


def _figures_from_analysis(analysis: PlateAnalysis) -> list[dict]:
    """Heat map per plate and curve plot per compound of a checked (or just stored) file."""
    out = []
    for plate in analysis.plates:
        wells = [{"row": parse_well(w.well)[0], "col": parse_well(w.well)[1], "signal": w.signal,
                  "well_type": w.well_type, "masked": w.masked} for w in plate.wells]
        qc = plate.qc
        curves = []
        for c in (c for c in analysis.curves if c.plate_id == plate.plate_id):
            s = c.summary()
            fit = {**s, "ic50_nm": c.fit.ic50_nm, "reported_ic50_nm": c.call.ic50_nm}
            curves.append({**s, "img": _img(curve_svg([w.point() for w in c.wells], fit_plot_values(fit),
                                                      f"{c.compound_id} ({plate.plate_id})"))})
        out.append({**plate.summary(), "heatmap": _img(plate_heatmap_svg(
            wells, qc.n_wells, f"{plate.plate_id}: Z' {qc.z_prime:.2f} ({plate.status})")), "curves": curves})
    return out


def _figures_from_store(ctx: WebContext, project: str, plate_uid: str) -> dict | None:
    plates = plate_table(ctx.store, project)
    rows = plates[plates["plate_uid"] == plate_uid]
    if rows.empty:
        return None
    plate = rows.iloc[0].to_dict()
    wells = plate_wells_table(ctx.store, plate_uid)
    z = plate["z_prime"]
    plate["heatmap"] = _img(plate_heatmap_svg(
        [{"row": int(w.row), "col": int(w.col), "signal": float(w.signal), "well_type": w.well_type,
          "masked": bool(w.masked)} for w in wells.itertuples()], int(plate["n_wells"]),
        f"{plate['plate_id']}: Z' {z:.2f} ({plate['qc_status']})" if z == z else plate["plate_id"]))
    fits = curve_fit_table(ctx.store, project, plate_uid=plate_uid)
    plate["curves"] = [{**f, "masked_wells": [(p["well"], p["reason"]) for p in f["wells"] if p["masked"]],
                        "img": _img(curve_svg(f["wells"], fit_plot_values(f), f"{f['compound_id']} ({plate['plate_id']})"))}
                       for f in fits.to_dict("records")]
    return plate


@router.get("/projects/{name}/plates")
def plates_page(request: Request, name: str) -> Response:
    session, refusal = viewer_in_project(request, name)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    stored = plate_table(ctx.store, name).to_dict("records")
    for p in stored:
        p["url"] = plate_url(name, p["plate_uid"])
    return ctx.render("plates.html", session=session, project=name, project_url=project_url(name),
                      action_url=plates_url(name) + "/upload", stored=stored, report=None, figures=[])


@router.post("/projects/{name}/plates/upload")
async def plates_upload(request: Request, name: str) -> Response:
    ctx = get_ctx(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return ctx.message("Please sign in again", "Nothing was stored.", status=401, links=[("/signin", "Sign in")])
    try:
        form = await read_form(request, 2 * ctx.settings.max_upload_bytes + _BODY_SLACK)
    except BodyTooLarge as exc:
        return ctx.message("This file is too large", f"The upload was about {exc.size / 1e6:.0f} MB; the limit is "
                           f"{ctx.settings.max_upload_bytes / 1e6:.0f} MB. Nothing was stored.", status=413,
                           session=session, links=[(plates_url(name), "Back")])
    except BadForm:
        return ctx.message("Upload not understood", "Reload the page and choose the file again.", status=400,
                           session=session)
    if not csrf_ok(session, form.get("csrf_token")):
        return ctx.message("This page is out of date", "Reload the page and try again. Nothing was stored.",
                           status=403, session=session)
    upload, plate_map = form.files.get("file"), form.files.get("plate_map")
    if upload is None or not upload.content:
        return ctx.message("No file chosen", "Choose a plate-reader export.", status=400, session=session,
                           links=[(plates_url(name), "Back")])
    store_it = form.get("action") == "store"
    if store_it and not session.user.can_upload:
        return ctx.message("You cannot store measurements", f"'{session.user.name}' may check plate files but not "
                           "store them (role: viewer). Nothing was stored.", status=403, session=session)
    if not await run_in_threadpool(known_project, ctx, name):  # plates go into a project created beforehand
        return await run_in_threadpool(project_or_404, request, session, name)
    accept = {a.strip() for a in form.get("accept").replace(",", " ").split() if a.strip()}
    filename = display_name(upload.filename)

    def work() -> Response:
        _, path = ctx.staging.put_bytes(upload.content)
        map_path = ctx.staging.put_bytes(plate_map.content)[1] if plate_map is not None and plate_map.content else None
        try:
            with ctx.commit_lock:
                report = upload_plate_file(ctx.store, path, name, plate_map=map_path, dry_run=not store_it,
                                           accept_plates=accept, uploader=session.user.name,
                                           archive_dir=ctx.settings.archive_dir, display_name=filename,
                                           structure_key=ctx.structure_key)
        except BadInputError as exc:
            return ctx.message("This file cannot be read", exc.message, status=422, session=session,
                               links=[(plates_url(name), "Choose another file")])
        except MolTwinError as exc:
            return ctx.message("Nothing was stored", f"The twin store refused the upload: {exc}", status=500,
                               session=session, links=[(plates_url(name), "Back")])
        if report.status == "committed":
            ctx.staging.save_report(report.upload_id, {k: v for k, v in report.to_dict().items()
                                                       if k in {"notes", "new_compounds"}})
            ctx.updater.start(name, report.upload_id)
        return ctx.render("plates.html", session=session, project=name, project_url=project_url(name),
                          action_url=plates_url(name) + "/upload", stored=[], report=report.to_dict(),
                          figures=_figures_from_analysis(report.analysis) if report.analysis else [])

    return await run_in_threadpool(work)


@router.get("/projects/{name}/plates/{plate_uid}")
def plate_page(request: Request, name: str, plate_uid: str) -> Response:
    session, refusal = viewer_in_project(request, name)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    plate = _figures_from_store(ctx, name, plate_uid)
    if plate is None:
        return ctx.message("No such plate", f"There is no plate '{plate_uid}' in {name}.", status=404, session=session)
    return ctx.render("plate.html", session=session, project=name, plates_url=plates_url(name), plate=plate,
                      accept_url=plate_url(name, plate_uid) + "/accept")


@router.get("/projects/{name}/curves/{compound_id}")
def compound_curves_page(request: Request, name: str, compound_id: str) -> Response:
    """Every current curve of one compound (all plates), for the compound's page to link to."""
    session, refusal = viewer_in_project(request, name)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    fits = curve_fit_table(ctx.store, name, compound_id=compound_id)  # one compound's rows, not the project's
    plates = plate_table(ctx.store, name).set_index("plate_uid")
    curves = [{**f, "masked_wells": [(p["well"], p["reason"]) for p in f["wells"] if p["masked"]],
               "plate_id": plates.loc[f["plate_uid"], "plate_id"], "plate_link": plate_url(name, f["plate_uid"]),
               "img": _img(curve_svg(f["wells"], fit_plot_values(f), f"{compound_id} ({plates.loc[f['plate_uid'], 'plate_id']})"))}
              for f in fits.to_dict("records")]
    return ctx.render("compound_curves.html", session=session, project=name, plates_url=plates_url(name),
                      compound_id=compound_id, p={"curves": curves})


@router.post("/projects/{name}/plates/{plate_uid}/accept")
async def plate_accept(request: Request, name: str, plate_uid: str) -> Response:
    ctx = get_ctx(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return signin_redirect()
    try:
        form = await read_form(request, SMALL_FORM_BYTES)
    except (BodyTooLarge, BadForm):
        return ctx.message("Not understood", "Reload the page and try again.", status=400, session=session)
    if not csrf_ok(session, form.get("csrf_token")):
        return ctx.message("This page is out of date", "Reload the page and try again.", status=403, session=session)
    if not session.user.can_upload:
        return ctx.message("You cannot accept plates", "Accepting a plate needs the uploader role.", status=403,
                           session=session)
    if missing := await run_in_threadpool(project_or_404, request, session, name):
        return missing

    def work(s: Session) -> Response:
        try:
            with ctx.commit_lock:
                accept_plate(ctx.store, name, plate_uid, user=s.user.name)
        except BadInputError as exc:
            return ctx.message("Not accepted", exc.message, status=409, session=s,
                               links=[(plate_url(name, plate_uid), "Back to the plate")])
        ctx.updater.start(name, plate_uid.split(":", 1)[0])
        return RedirectResponse(plate_url(name, plate_uid), status_code=303)

    return await run_in_threadpool(work, session)
