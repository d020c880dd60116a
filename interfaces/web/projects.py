"""Creating a project is an explicit action: name, target, optional series core and protein (uploaders)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from lab_sync.projects import create_project
from moltwin.errors import BadInputError
from moltwin.paths import twin_home
from interfaces.web.context import get_ctx
from interfaces.web.forms import BadForm, BodyTooLarge, read_form
from interfaces.web.twin_services import q, viewer_or_redirect
from interfaces.web.users import csrf_ok

router = APIRouter()
MAX_PROTEIN_BYTES = 20 * 1000 * 1000


def _form_page(request: Request, session, *, status: int = 200, error: str = "", values: dict | None = None):
    return get_ctx(request).render("twin_new_project.html", status=status, session=session, error=error,
                                   values=values or {"name": request.query_params.get("name", ""), "target": "", "core": ""},
                                   max_protein_mb=MAX_PROTEIN_BYTES / 1e6)


@router.get("/projects-new")
def new_project_page(request: Request) -> Response:
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return redirect
    if not session.user.can_upload:
        return get_ctx(request).message("Not allowed", "Creating a project needs the uploader role; you are "
                                        "signed in as a viewer.", status=403, session=session)
    return _form_page(request, session)


def _save_protein(request: Request, name: str, content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    if not any(line.startswith(("ATOM", "HETATM")) for line in text.splitlines()):
        raise BadInputError("The protein file has no ATOM records: upload a PDB file.", field="protein")
    ctx = get_ctx(request)
    folder = (ctx.settings.staging_dir.parent if ctx.settings.staging_dir else twin_home()) / "proteins"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pdb"
    path.write_text(text)
    return str(path.resolve())


@router.post("/projects-new")
async def new_project(request: Request) -> Response:
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return redirect
    ctx = get_ctx(request)
    try:
        form = await read_form(request, MAX_PROTEIN_BYTES + 64 * 1024)
    except BodyTooLarge:
        return _form_page(request, session, status=413, error=f"The protein file is over "
                          f"{MAX_PROTEIN_BYTES / 1e6:.0f} MB; upload the prepared structure of the target only.")
    except BadForm:
        return _form_page(request, session, status=400, error="The form was not understood; reload the page.")
    if not csrf_ok(session, form.get("csrf_token")):
        return ctx.message("Page expired", "This page is out of date; reload it and try again.", status=403,
                           session=session)
    if not session.user.can_upload:
        return ctx.message("Not allowed", "Creating a project needs the uploader role.", status=403, session=session)
    values = {"name": form.get("name").strip(), "target": form.get("target").strip(), "core": form.get("core").strip()}
    protein = form.files.get("protein")
    try:
        if ctx.store.read_table("projects", name=values["name"]).shape[0]:
            raise BadInputError(f"There is already a project '{values['name']}'. Choose it from the list instead.")
        path = await run_in_threadpool(_save_protein, request, values["name"], protein.content) \
            if protein is not None and protein.content else ""
        await run_in_threadpool(create_project, ctx.store, values["name"], values["target"],
                                core_smiles=values["core"], protein_pdb=path, created_by=session.user.name)
    except BadInputError as exc:
        return _form_page(request, session, status=400, error=str(exc), values=values)
    return RedirectResponse("/projects/" + q(values["name"]), status_code=303)
