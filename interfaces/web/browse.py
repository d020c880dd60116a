"""The home page, the Projects page (each series at a glance) and the compounds grid with its export."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lab_sync.ledger import score_ledger
from moltwin.errors import BadInputError
from ranking.depict import depict_svg, write_sdf
from ranking.grid_query import COUNT_BUDGET_S, RANGE_COLUMNS, GridQuery, parse_bound, run_query, selection
from ranking.compound_table import TABLE_COLUMNS
from interfaces.web.charts import line_chart
from interfaces.web.context import get_ctx
from interfaces.web.twin_services import q, twin, viewer_in_project, viewer_or_redirect

router = APIRouter()

#: Grid columns: (column, header). Every one sorts.
GRID_COLUMNS = [("compound_id", "compound"), ("decision", "decision"), ("stage", "stage"), ("rank", "rank"),
                ("p_clear_gates", "p(clear)"), ("measured_p_activity", "measured p"),
                ("pred_p_activity", "predicted p (80 % interval)"), ("mw_da", "MW"), ("clogp", "cLogP"),
                ("tpsa_a2", "TPSA"), ("origin", "origin")]
MAX_SDF_ROWS = 20_000


def projects(request: Request) -> list[str]:
    table = get_ctx(request).store.read_table("projects")
    return sorted(table["name"]) if len(table) else []


def project_links(name: str) -> list[tuple[str, str]]:
    base = "/projects/" + q(name)
    return [("Compounds", base + "/compounds"), ("What if", base + "/whatif"), ("SAR", base + "/sar"),
            ("Runs", base + "/runs"), ("Upload", base)]


@router.get("/")
def home(request: Request) -> Response:
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return redirect
    names = projects(request)
    return get_ctx(request).render("twin_home.html", session=session, projects=names,
                                   links={n: project_links(n) for n in names}, error="")


def project_summary(request: Request, name: str) -> dict:
    """Counts by decision and stage, last upload and run, and the ledger's scores per cycle."""
    store = get_ctx(request).store
    table = twin(request).cache.table(name).table
    uploads = store.read_table("uploads", name)
    runs = store.read_table("runs", name)
    ledger = score_ledger(store, name)
    last_upload = uploads.sort_values("uploaded_at").iloc[-1].to_dict() if len(uploads) else None
    last_run = runs.sort_values("started_at").iloc[-1].to_dict() if len(runs) else None
    cycles = ledger.to_dict("records")
    rmse = [None if pd.isna(c["rmse"]) else float(c["rmse"]) for c in cycles]
    cover = [None if pd.isna(c["coverage_80"]) else float(c["coverage_80"]) for c in cycles]
    return {"name": name, "n_compounds": len(table),
            "n_measured": int(table["measured_p_activity"].notna().sum()),
            "by_decision": _counts(table["decision"]),
            "by_stage": _counts(table["stage"]),
            "last_upload": last_upload, "last_run": last_run, "cycles": cycles,
            "rmse_chart": line_chart(rmse, title="Prospective RMSE per cycle", y_label="RMSE (p units)",
                                     y_min=0.0, chart_id=f"rmse-{name}"),
            "coverage_chart": line_chart(cover, title="80 % interval coverage per cycle", y_label="coverage",
                                         y_min=0.0, y_max=1.0, target=0.8, chart_id=f"coverage-{name}"),
            "links": project_links(name)}


@router.get("/overview")
async def overview(request: Request) -> Response:
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return redirect
    summaries = [await run_in_threadpool(project_summary, request, n) for n in projects(request)]
    return get_ctx(request).render("twin_projects.html", session=session, summaries=summaries)


def grid_query(params) -> GridQuery:
    """A :class:`GridQuery` from the page's query string (:class:`BadInputError` when a field is wrong)."""
    ranges = {}
    for col, label in RANGE_COLUMNS.items():
        low, high = parse_bound(params.get(f"min_{col}", ""), label), parse_bound(params.get(f"max_{col}", ""), label)
        if low is not None or high is not None:
            ranges[col] = (low, high)
    sort = params.get("sort", "rank") or "rank"
    page = params.get("page", "1") or "1"
    if not page.isdigit():
        raise BadInputError(f"page '{page[:20]}' is not a page number")
    return GridQuery(decision=params.get("decision", ""), stage=params.get("stage", ""),
                     measured=params.get("measured", "") if params.get("measured") in ("yes", "no") else "",
                     predicted=params.get("predicted", "") if params.get("predicted") in ("yes", "no") else "",
                     ranges=ranges, substructure=params.get("substructure", ""), sort=sort,
                     descending=params.get("desc", "") == "1", page=int(page))


def _answer(request: Request, project: str, gq: GridQuery):
    services = twin(request)
    if gq.substructure.strip():
        table, library = services.cache.library(project)
    else:
        table, library = services.cache.table(project).table, None
    return table, run_query(table, gq, library, count_budget_s=services.extra.get("count_budget_s", COUNT_BUDGET_S))


@router.get("/projects/{project}/compounds")
async def grid(request: Request, project: str) -> Response:
    session, refusal = viewer_in_project(request, project)
    if refusal:
        return refusal
    ctx, params = get_ctx(request), dict(request.query_params)
    entry = twin(request).cache.table(project)
    error, result, table = "", None, entry.table
    try:
        gq = grid_query(params)
        table, result = await run_in_threadpool(_answer, request, project, gq)
    except BadInputError as exc:
        gq, error = GridQuery(), str(exc).removeprefix("bad input: ")
    kept = {k: v for k, v in params.items() if k not in ("page", "sort", "desc") and v}

    def url(**change) -> str:
        merged = {**kept, "sort": gq.sort, "desc": "1" if gq.descending else "", "page": str(gq.page), **change}
        return "?" + urlencode({k: v for k, v in merged.items() if v})

    sort_urls = {c: url(sort=c, desc="" if (c == gq.sort and gq.descending) or c != gq.sort else "1", page="1")
                 for c, _ in GRID_COLUMNS}
    export = urlencode({k: v for k, v in {**kept, "sort": gq.sort, "desc": "1" if gq.descending else ""}.items() if v})
    return ctx.render("twin_grid.html", status=400 if error else 200, session=session, project=project,
                      error=error, result=result, rows=result.rows.to_dict("records") if result else [],
                      columns=GRID_COLUMNS, sort_urls=sort_urls, gq=gq, params=params,
                      decisions=entry.get("decisions", lambda t: sorted(d for d in t["decision"].unique() if d)),
                      stages=entry.get("stages", lambda t: sorted(s for s in t["stage"].unique() if s)),
                      range_columns=RANGE_COLUMNS,
                      prev_url=url(page=str(gq.page - 1)) if result and gq.page > 1 else "",
                      next_url=url(page=str(result.page + 1)) if result and result.page < result.n_pages else "",
                      export_query=export, base="/projects/" + q(project), q=q, stale=entry.stale)


@router.get("/projects/{project}/compounds.{fmt}")
async def export(request: Request, project: str, fmt: str) -> Response:
    session, refusal = viewer_in_project(request, project)
    if refusal:
        return refusal
    ctx = get_ctx(request)
    if fmt not in ("csv", "sdf"):
        return ctx.message("Unknown format", "Export as .csv or .sdf.", status=404, session=session)
    try:
        gq = grid_query(dict(request.query_params))
        cache = twin(request).cache
        table, library = await run_in_threadpool(cache.library, project) if gq.substructure.strip() \
            else (cache.table(project).table, None)
        rows = await run_in_threadpool(selection, table, gq, library)
    except BadInputError as exc:
        return ctx.message("Cannot export", str(exc).removeprefix("bad input: "), status=400, session=session,
                           links=[("/projects/" + q(project) + "/compounds", "Back to the compounds")])
    name = f"{project}-compounds.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(rows[TABLE_COLUMNS].to_csv(index=False), media_type="text/csv", headers=headers)
    if len(rows) > MAX_SDF_ROWS:
        return ctx.message("Too many compounds for an SDF", f"The selection has {len(rows):,} compounds; an SDF "
                           f"export takes at most {MAX_SDF_ROWS:,}. Narrow the filters or export CSV.",
                           status=400, session=session)
    text = await run_in_threadpool(_sdf_text, rows)
    return Response(text, media_type="chemical/x-mdl-sdfile", headers=headers)


def _sdf_text(rows: pd.DataFrame) -> str:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "selection.sdf"
        write_sdf(rows, path)
        return path.read_text()


@lru_cache(maxsize=20_000)
def structure_svg(smiles: str, width: int, height: int) -> str:
    return depict_svg(smiles, None, width=width, height=height)


@router.get("/structure.svg")
def structure(request: Request, smiles: str = "", w: int = 180, h: int = 130) -> Response:
    """A drawing of ``smiles`` (cached by the browser: the same SMILES always draws the same)."""
    if current := viewer_or_redirect(request)[1]:
        return current
    w, h = min(max(w, 60), 600), min(max(h, 60), 600)
    svg = structure_svg(smiles[:2000], w, h) if smiles else ""
    if not svg:
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><text x="8" y="20" '
               f'font-size="12">no structure</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})


def _counts(values) -> dict[str, int]:
    """Counts per value, largest first, ties by name (a stable order to read and to test)."""
    counts = values.replace("", "not ranked").value_counts()
    return dict(sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0])))
