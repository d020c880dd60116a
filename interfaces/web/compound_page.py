"""One compound's page: identity, measurement history, prospective predictions, simulations, ADMET, decisions."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from ranking.compound_history import (admet_of, compound_row, decision_history, measurement_history,
                                      prospective_predictions, rmsd_trace, simulation_history, start_pose,
                                      end_pose)
from interfaces.web.charts import line_chart
from interfaces.web.context import get_ctx
from interfaces.web.twin_services import q, twin, viewer_in_project

router = APIRouter()
STATIC = Path(__file__).resolve().parents[2] / "ranking" / "static"
POSE_JS = """
// One viewer per simulation; the buttons swap the start and end poses in the same view, so the
// ligand's movement over the run is seen against the same camera.
document.addEventListener("DOMContentLoaded", function () {
  var probe = document.createElement("canvas");
  var webgl = !!(window.WebGLRenderingContext && (probe.getContext("webgl2") || probe.getContext("webgl")));
  function show(card, viewer, which, zoom) {
    var data = JSON.parse(document.getElementById(which === "end" ? card.dataset.poseEnd : card.dataset.pose).textContent);
    viewer.removeAllModels();
    var pocket = viewer.addModel(data.pdb, "pdb"), ligand = viewer.addModel(data.sdf, "sdf");
    pocket.setStyle({}, {line: {colorscheme: "grayCarbon"}});
    pocket.setStyle({predicate: function (a) { return a.b > 0.5; }}, {stick: {colorscheme: "grayCarbon", radius: 0.12}});
    ligand.setStyle({}, {stick: {colorscheme: which === "end" ? "orangeCarbon" : "greenCarbon", radius: 0.22}});
    if (zoom) { viewer.zoomTo({model: ligand}); viewer.zoom(0.7); }
    viewer.render();
    card.dataset.showing = which;
    card.querySelectorAll("button[data-frame]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.frame === which ? "true" : "false");
    });
  }
  document.querySelectorAll(".pose3d[data-pose]").forEach(function (card) {
    if (!webgl || !window.$3Dmol) { card.dataset.status = "fallback"; return; }
    try {
      var box = card.querySelector(".viewer");
      box.style.display = "block";
      var viewer = $3Dmol.createViewer(box, {backgroundColor: "white"});
      show(card, viewer, "start", true);
      card.querySelectorAll("button[data-frame]").forEach(function (b) {
        b.addEventListener("click", function () { show(card, viewer, b.dataset.frame, false); });
      });
      card.dataset.status = "ready";
    } catch (err) { card.dataset.status = "fallback"; card.dataset.error = String(err); }
  });
});
"""


@router.get("/static/3Dmol-min.js")
def three_dmol() -> Response:
    """3Dmol.js 2.5.5 (BSD 3-Clause; licence in ranking/static/3Dmol-LICENSE.txt), served from the package."""
    return Response((STATIC / "3Dmol-min.js").read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/pose.js")
def pose_js() -> Response:
    return PlainTextResponse(POSE_JS, media_type="text/javascript")


def compound_facts(request: Request, project: str, compound_id: str) -> dict | None:
    store = get_ctx(request).store
    row = compound_row(store, project, compound_id)
    if row is None:
        return None
    table = twin(request).cache.table(project).table
    current = table[table["compound_id"] == compound_id]
    history = measurement_history(store, project, compound_id)
    preds, first_measured, n_hidden = prospective_predictions(store, project, compound_id, history)
    sims = simulation_history(store, project, compound_id)
    for sim in sims:
        trace = rmsd_trace(sim)
        sim["rmsd_chart"] = line_chart([float(v) for v in trace["ligand_rmsd_A"]], title="Ligand RMSD over the run",
                                       y_label="RMSD (Å)", y_min=0.0, x_label="frame (start → end)",
                                       chart_id=f"rmsd-{sim['id']}") if len(trace) else ""
        pose = start_pose(sim)
        sim["pose_json"] = pose.to_json() if pose else ""
        end = end_pose(sim) if pose else None
        sim["end_pose_json"] = end.to_json() if end else ""
        sim["end_time_ps"] = end.time_ps if end else None
    decisions = decision_history(store, project, compound_id)
    admet, admet_run = admet_of(compound_id, decisions)
    fits = store.read_table("curve_fits", project, compound_id=compound_id)
    curves = {"n_fits": int(len(fits)), "n_active": int(fits["active"].astype(bool).sum()) if len(fits) else 0,
              "classes": sorted(set(fits.loc[fits["active"].astype(bool), "curve_class"])) if len(fits) else [],
              "url": f"/projects/{q(project)}/curves/{q(compound_id)}"}
    return {"c": row, "curves": curves, "current": current.iloc[0].to_dict() if len(current) else {}, "history": history.to_dict("records"),
            "predictions": preds.to_dict("records"), "first_measured": first_measured, "n_hidden": n_hidden,
            "sims": sims, "decisions": decisions, "admet": admet, "admet_run": admet_run}


@router.get("/projects/{project}/compounds/{compound_id}/structure.svg")
def compound_structure(request: Request, project: str, compound_id: str) -> Response:
    """The drawing of a registered compound, by its id (for pages that know only the id)."""
    from interfaces.web.browse import structure

    rows = get_ctx(request).store.read_table("compounds", project, compound_id=compound_id)
    return structure(request, smiles=str(rows["canonical_smiles"].iloc[0]) if len(rows) else "", w=150, h=110)


@router.get("/projects/{project}/compounds/{compound_id}")
async def compound_page(request: Request, project: str, compound_id: str) -> Response:
    session, refusal = viewer_in_project(request, project)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    facts = await run_in_threadpool(compound_facts, request, project, compound_id)
    if facts is None:
        return ctx.message("No such compound", f"Project {project} has no compound '{compound_id[:100]}'.",
                           status=404, session=session,
                           links=[("/projects/" + q(project) + "/compounds", "All compounds")])
    return ctx.render("twin_compound.html", session=session, project=project, base="/projects/" + q(project),
                      jobs=[j for j in twin(request).jobs.for_project(project) if j.label == compound_id], **facts)
