"""The what-if page: paste a SMILES, see what the twin says; add it to the next batch or queue a simulation."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from chem.admet_settings import AdmetSettings
from lab_sync.store import utcnow
from moltwin.errors import BadInputError, ModelError
from ranking.whatif import ask_twin, fingerprints, standardize_input
from interfaces.web.context import get_ctx
from interfaces.web.jobs import saved_config, simulate_compound, simulate_deployment
from interfaces.web.twin_services import q, twin, uploader_form, viewer_in_project

router = APIRouter()
NEXT_BATCH_ORIGIN = "what-if: next batch"


def answer_for(request: Request, project: str, smiles: str):
    """The twin's answer with the project's saved settings and latest model."""
    services, store = twin(request), get_ctx(request).store
    config = saved_config(store, project)
    try:
        model, note = services.models.model(project), ""
    except ModelError as exc:
        model, note = None, f"No activity prediction: {exc}."
    admet = (config.admet if config else AdmetSettings()) if services.extra.get("admet", True) else None
    admet_note = ("ADMET not predicted: switched off on this server." if admet is None else
                  "ADMET not predicted: switched off in this project's configuration (admet.enabled).")
    entry = services.cache.table(project)
    measured = entry.get("measured", lambda t: t[t["measured_p_activity"].notna()][
        ["compound_id", "smiles", "measured_qualifier", "measured_p_activity"]].reset_index(drop=True))
    measured_fps = entry.get("measured_fps", lambda _t: fingerprints(measured["smiles"]))
    return ask_twin(smiles, model=model, model_note=note, admet_settings=admet, admet_note=admet_note,
                    filter_settings=config.filter if config else None, rank_settings=config.rank if config else None,
                    measured=measured, measured_fps=measured_fps)


def next_batch(request: Request, project: str) -> list[dict]:
    comps = get_ctx(request).store.read_table("compounds", project, origin=NEXT_BATCH_ORIGIN)
    return comps.sort_values("created_at").to_dict("records") if len(comps) else []


@router.get("/projects/{project}/whatif")
async def whatif_page(request: Request, project: str, smiles: str = "") -> Response:
    session, refusal = viewer_in_project(request, project)
    if refusal:
        return refusal
    ctx, answer, error = get_ctx(request), None, ""
    if smiles.strip():
        try:
            answer = await run_in_threadpool(answer_for, request, project, smiles)
        except BadInputError as exc:
            error = str(exc)
    return ctx.render("twin_whatif.html", status=400 if error else 200, session=session, project=project,
                      smiles=smiles, answer=answer, error=error, base="/projects/" + q(project),
                      batch=next_batch(request, project), q=q, notice=request.query_params.get("notice", ""))


def register_whatif(request: Request, project: str, smiles: str, user: str, origin: str) -> str:
    """Register the standardized compound (or find it); returns its compound id."""
    std = standardize_input(smiles)
    store = get_ctx(request).store
    cid = "WI-" + std.inchikey[:14]
    result = store.register_compounds(project, [{
        "compound_id": cid, "smiles": std.smiles, "inchikey": std.inchikey, "origin": origin,
        "provenance": json.dumps({"added_by": user, "added_at": utcnow().isoformat(timespec="seconds"),
                                  "input_smiles": smiles.strip()[:500]})}])
    return str(result.iloc[0]["registered_id"])


@router.post("/projects/{project}/whatif/batch")
async def add_to_batch(request: Request, project: str) -> Response:
    session, form, refused = await uploader_form(request, project)
    if refused:
        return refused
    smiles = form.get("smiles")
    try:
        cid = await run_in_threadpool(register_whatif, request, project, smiles, session.user.name, NEXT_BATCH_ORIGIN)
    except BadInputError as exc:
        return get_ctx(request).message("Cannot add", str(exc), status=400, session=session)
    return RedirectResponse(f"/projects/{q(project)}/whatif?smiles={q(smiles)}&notice={q(f'{cid} is in the next batch.')}",
                            status_code=303)


@router.post("/projects/{project}/whatif/simulate")
async def queue_simulation(request: Request, project: str) -> Response:
    session, form, refused = await uploader_form(request, project)
    if refused:
        return refused
    ctx, smiles = get_ctx(request), form.get("smiles")
    config = saved_config(ctx.store, project)
    if config is None:
        return ctx.message("Cannot simulate yet", f"Project {project} has no completed run, so there is no saved "
                           "target (protein, reference ligands) to simulate with. Run a screen first.",
                           status=409, session=session)
    if config.target.protein_pdb is None:
        return ctx.message("Cannot simulate", f"Project {project} has no protein to simulate with (it was created "
                           "without one).", status=409, session=session)
    try:
        cid = await run_in_threadpool(register_whatif, request, project, smiles, session.user.name, "what-if")
    except BadInputError as exc:
        return ctx.message("Cannot simulate", str(exc), status=400, session=session)
    std = standardize_input(smiles)
    runner = twin(request).extra.get("simulate", simulate_compound)
    twin(request).jobs.submit("simulate", project, cid, session.user.name,
                              lambda: runner(ctx.store_url, project, cid, std.smiles),
                              deployment=lambda: simulate_deployment(ctx.store_url, project, cid, std.smiles))
    return RedirectResponse(f"/projects/{q(project)}/compounds/{q(cid)}", status_code=303)
