"""The Runs page: each run's status, its report served by the app, and (for uploaders) a new screen."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from interfaces.web.context import get_ctx
from interfaces.web.jobs import saved_config, screen_deployment, screen_project
from interfaces.web.twin_services import q, twin, uploader_form, viewer_in_project, viewer_or_redirect

router = APIRouter()
# The report is self-contained (its 3D viewer and table scripts are inline), so its page alone allows
# inline scripts; it still loads nothing from elsewhere.
REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; "
              "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


def run_rows(request: Request, project: str) -> list[dict]:
    runs = get_ctx(request).store.read_table("runs", project)
    rows = runs.sort_values("started_at", ascending=False).to_dict("records") if len(runs) else []
    for r in rows:
        try:
            summary = json.loads(r.get("summary_json") or "{}")
        except ValueError:
            summary = {}
        r["n_ranked"] = summary.get("n_ranked")
        r["has_report"] = (Path(r["results_dir"]) / "report.html").is_file()
        r["error_line"] = (r.get("error") or "").strip().splitlines()[-1:] or [""]
    return rows


def _screenable(config) -> bool:
    """A saved configuration a screen can run with (a first twin's may lack the core or the protein)."""
    return config is not None and bool(config.target.core_smiles and config.target.protein_pdb)


@router.get("/projects/{project}/runs")
def runs_page(request: Request, project: str) -> Response:
    session, refusal = viewer_in_project(request, project)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    jobs = twin(request).jobs.for_project(project)
    return ctx.render("twin_runs.html", session=session, project=project, runs=run_rows(request, project),
                      jobs=jobs, can_screen=_screenable(saved_config(ctx.store, project)),
                      busy=any(j.status in ("queued", "running") for j in jobs), base="/projects/" + q(project), q=q)


@router.get("/runs/{run_id}/report")
def report(request: Request, run_id: str) -> Response:
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return redirect
    ctx = get_ctx(request)
    runs = ctx.store.read_table("runs", run_id=run_id)
    path = Path(runs.iloc[0]["results_dir"]) / "report.html" if len(runs) else None
    if path is None or not path.is_file():
        return ctx.message("No report", f"Run '{run_id[:80]}' has no report (it may still be running, or have failed).",
                           status=404, session=session)
    return Response(path.read_bytes(), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": REPORT_CSP})


@router.post("/projects/{project}/runs/screen")
async def start_screen(request: Request, project: str) -> Response:
    session, _form, refused = await uploader_form(request, project)
    if refused:
        return refused
    ctx = get_ctx(request)
    if saved_config(ctx.store, project) is None:
        return ctx.message("No saved configuration", f"Project {project} has no completed run whose configuration "
                           "could be reused; start the first screen with `moltwin screen --config ...`.",
                           status=409, session=session)
    if not _screenable(saved_config(ctx.store, project)):
        return ctx.message("Cannot screen", f"Project {project} has no series core or no protein, which a screen needs "
                           "(to generate analogs and simulate them); its twin is trained and ranked at each upload.",
                           status=409, session=session)
    runner = twin(request).extra.get("screen", screen_project)
    twin(request).jobs.submit("screen", project, "screen", session.user.name, lambda: runner(ctx.store_url, project),
                              deployment=lambda: screen_deployment(ctx.store_url, project))
    return RedirectResponse(f"/projects/{q(project)}/runs", status_code=303)
