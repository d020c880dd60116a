"""The SAR page: R-group table on the series core coloured by activity, matched pairs and activity cliffs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lab_sync.projects import project_target
from moltwin.errors import BadInputError
from ranking.sar import activity_cliffs, activity_colour, matched_pairs, rgroup_table
from interfaces.web.context import get_ctx
from interfaces.web.jobs import saved_config
from interfaces.web.twin_services import q, twin, viewer_in_project

router = APIRouter()
MAX_CORE_CHARS = 300


def sar_view(request: Request, project: str, core: str) -> dict:
    table = twin(request).cache.table(project).table
    measured = table[table["measured_p_activity"].notna()][["compound_id", "smiles", "measured_qualifier",
                                                           "measured_p_activity"]]
    rg, labels = rgroup_table(core, measured)
    lo, hi = (float(measured["measured_p_activity"].min()), float(measured["measured_p_activity"].max())) \
        if len(measured) else (0.0, 1.0)
    rows = rg.to_dict("records")
    for r in rows:
        r["colour"] = activity_colour(float(r["measured_p_activity"]), lo, hi)
    return {"rows": rows, "labels": labels, "n_measured": len(measured), "pairs": matched_pairs(rg, labels).to_dict("records"),
            "cliffs": activity_cliffs(measured).to_dict("records"), "lo": lo, "hi": hi}


@router.get("/projects/{project}/sar")
async def sar_page(request: Request, project: str, core: str = "") -> Response:
    session, refusal = viewer_in_project(request, project)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    config = saved_config(ctx.store, project)
    created = project_target(ctx.store, project)
    saved_core = config.target.core_smiles if config else (created or {}).get("core_smiles", "")
    core = (core or saved_core).strip()
    view, error = None, ""
    if not core:
        error = "This project has no saved series core yet; type one (SMILES with [*:1], [*:2] ... or SMARTS)."
    elif len(core) > MAX_CORE_CHARS:
        error = f"The core has {len(core)} characters; the limit is {MAX_CORE_CHARS}."
    else:
        try:
            view = await run_in_threadpool(sar_view, request, project, core)
        except BadInputError as exc:
            error = str(exc)
    return ctx.render("twin_sar.html", status=400 if error and core else 200, session=session, project=project,
                      core=core, saved_core=saved_core, view=view, error=error, base="/projects/" + q(project), q=q)
