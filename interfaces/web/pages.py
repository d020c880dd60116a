"""Sign in and out, choose a project, and the project page with its upload form."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from lab_sync.store import TwinStore
from interfaces.web.context import (SESSION_COOKIE, SMALL_FORM_BYTES, current_session, get_ctx,
                                   served_over_https)
from interfaces.web.forms import BadForm, BodyTooLarge, read_form
from interfaces.web.users import authenticate, close_session, open_session

router = APIRouter()
PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

# Small progressive help only: stop a second click on a submit button, and say at once when a
# chosen file is over the limit. The server enforces both on its own.
APP_JS = """
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.disabled = true; b.textContent = b.dataset.busy || "Working...";
      });
    });
  });
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var max = Number(input.dataset.maxBytes), file = input.files[0];
      var big = file && file.size > max, note = document.getElementById("size-note");
      note.textContent = big ? "This file is " + (file.size / 1e6).toFixed(1) + " MB; the limit is " +
        (max / 1e6).toFixed(0) + " MB. Split it into smaller files." : "";
      input.form.querySelector("button[type=submit]").disabled = !!big;
    });
  });
});
"""


def signin_redirect() -> RedirectResponse:
    return RedirectResponse("/signin", status_code=303)


def project_url(name: str) -> str:
    return "/projects/" + quote(name, safe="")


def known_projects(store: TwinStore) -> list[str]:
    projects = store.read_table("projects")
    return sorted(projects["name"]) if len(projects) else []


def project_allowed(store: TwinStore, name: str) -> tuple[bool, bool]:
    """``(allowed, exists)``: an existing project, or a well-formed name for a new one."""
    exists = name in known_projects(store)
    return exists or bool(PROJECT_RE.match(name)), exists


@router.get("/app.js")
def app_js() -> Response:
    return PlainTextResponse(APP_JS, media_type="text/javascript")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/signin")
def signin_page(request: Request) -> Response:
    if current_session(request):
        return RedirectResponse("/", status_code=303)
    return get_ctx(request).render("signin.html", error="", name="")


@router.post("/signin")
async def signin(request: Request) -> Response:
    ctx = get_ctx(request)
    try:
        form = await read_form(request, SMALL_FORM_BYTES)
    except (BodyTooLarge, BadForm):
        return ctx.message("Cannot sign in", "The sign-in form was not understood. Reload the page and "
                           "try again.", status=400, links=[("/signin", "Sign in")])
    name, token = form.get("name").strip()[:200], form.get("token").strip()[:200]
    client = request.client.host if request.client else "unknown"
    wait = ctx.throttle.wait_s(name, client)
    if wait:  # answered before any token is hashed: a flood costs us next to nothing
        page = ctx.render("signin.html", status=429, name=name,
                          error=f"Too many sign-in attempts that did not match. Wait {wait} seconds "
                                "and try again; whoever runs MolTwin can give you a new token.")
        page.headers["Retry-After"] = str(wait)
        return page
    user = await run_in_threadpool(authenticate, ctx.store, name, token) if name and token else None
    if user is None:
        ctx.throttle.failed(name, client)
        return ctx.render("signin.html", status=401, name=name,
                          error="That name and token do not match. Check both and try again; "
                                "whoever runs MolTwin can give you a new token.")
    ctx.throttle.succeeded(name, client)
    cookie, _ = await run_in_threadpool(open_session, ctx.store, user, hours=ctx.settings.session_hours)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict", path="/",
                        secure=ctx.settings.secure_cookies or served_over_https(request),
                        max_age=int(ctx.settings.session_hours * 3600))
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    ctx = get_ctx(request)
    session = await run_in_threadpool(current_session, request)
    # The session ends with or without the form's CSRF token: signing out is never harmful,
    # and a stale page's sign-out button must not leave a live session behind. (Forms from
    # other sites are refused before this, by the same-origin check.)
    if session:
        await run_in_threadpool(close_session, ctx.store, request.cookies.get(SESSION_COOKIE))
    response = signin_redirect()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def start_page(request: Request) -> Response:
    session = current_session(request)
    if session is None:
        return signin_redirect()
    ctx = get_ctx(request)
    return ctx.render("projects.html", session=session,
                      projects=[(n, project_url(n)) for n in known_projects(ctx.store)], error="")


@router.get("/project")
def choose_project(request: Request, name: str = "", new_name: str = "") -> Response:
    """The project chooser's form: an existing project (a new one is created on its own page)."""
    session = current_session(request)
    if session is None:
        return signin_redirect()
    if new_name.strip():
        return RedirectResponse("/projects-new?name=" + quote(new_name.strip(), safe=""), status_code=303)
    ctx = get_ctx(request)
    if name.strip() not in known_projects(ctx.store):
        return ctx.message("No such project", f"There is no project '{name.strip()[:100]}'. Choose one from the list, "
                           "or create it.", status=404, session=session,
                           links=[("/", "All projects"), ("/projects-new", "Create a project")])
    return RedirectResponse(project_url(name.strip()), status_code=303)


@router.get("/projects/{name}")
def project_page(request: Request, name: str) -> Response:
    session = current_session(request)
    if session is None:
        return signin_redirect()
    ctx = get_ctx(request)
    allowed, known = project_allowed(ctx.store, name)
    if not known:  # projects are created explicitly (name, target), never by typing a new name here
        return ctx.message("No such project", f"There is no project '{name[:100]}'. Choose one from the list, or "
                           "create it first.", status=404, session=session,
                           links=[("/", "All projects"), ("/projects-new?name=" + quote(name, safe="") if allowed
                                                          else "/projects-new", "Create a project")])
    uploads = ctx.store.read_table("uploads", name)
    if len(uploads):
        uploads = uploads.sort_values("uploaded_at", ascending=False).head(20)
    from lab_sync.column_mappings import COLUMN_LABELS, saved_mapping

    columns = sorted((h, COLUMN_LABELS.get(c, "not stored")) for h, c in saved_mapping(ctx.store, name).items())
    return ctx.render("project.html", session=session, project=name, is_new=not known, columns=columns,
                      validate_url=project_url(name) + "/validate", uploads=uploads.to_dict("records"))
