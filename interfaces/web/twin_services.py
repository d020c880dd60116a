"""What the browsing pages share beyond the upload page's context: the table cache, models, the job
queue, and the checks every page makes (signed in, known project, an uploader's form)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from interfaces.web.context import SMALL_FORM_BYTES, WebContext, current_session, get_ctx
from interfaces.web.forms import BadForm, BodyTooLarge, read_form
from interfaces.web.job_queue import JobQueue
from interfaces.web.model_cache import ModelCache
from interfaces.web.twin_cache import TwinCache
from interfaces.web.users import Session, csrf_ok


@dataclass
class TwinServices:
    cache: TwinCache
    models: ModelCache
    jobs: JobQueue
    extra: dict = field(default_factory=dict)


def twin(request: Request) -> TwinServices:
    return request.app.state.twin


def q(text: str) -> str:
    """One URL path segment."""
    return quote(str(text), safe="")


def known_project(ctx: WebContext, name: str) -> bool:
    projects = ctx.store.read_table("projects")
    return bool(len(projects)) and name in set(projects["name"])


def viewer_or_redirect(request: Request) -> tuple[Session | None, Response | None]:
    """The signed-in session (viewer or uploader), or the redirect to the sign-in page."""
    session = current_session(request)
    if session is None:
        return None, RedirectResponse("/signin", status_code=303)
    return session, None


def project_or_404(request: Request, session: Session, project: str) -> Response | None:
    ctx = get_ctx(request)
    if known_project(ctx, project):
        return None
    return ctx.message("No such project", f"There is no project '{project[:100]}'. Choose one from the list.",
                       status=404, session=session, links=[("/", "All projects")])


def viewer_in_project(request: Request, project: str) -> tuple[Session | None, Response | None]:
    """The signed-in session for a page of ``project``, or the response to send instead
    (the sign-in redirect, or the "no such project" page)."""
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return None, redirect
    return session, project_or_404(request, session, project)


async def uploader_form(request: Request, project: str):
    """(session, form, None) for an uploader's valid post, else (None, None, the response to send)."""
    session, redirect = viewer_or_redirect(request)
    if redirect:
        return None, None, redirect
    ctx = get_ctx(request)
    try:
        form = await read_form(request, SMALL_FORM_BYTES)
    except (BodyTooLarge, BadForm):
        return None, None, ctx.message("Not understood", "The form was not understood; reload the page.",
                                       status=400, session=session)
    if not csrf_ok(session, form.get("csrf_token")):
        return None, None, ctx.message("Page expired", "This page is out of date; reload it and try again.",
                                       status=403, session=session)
    if not session.user.can_upload:
        return None, None, ctx.message("Not allowed", "Adding compounds and queuing work needs the uploader "
                                       "role; you are signed in as a viewer.", status=403, session=session)
    missing = project_or_404(request, session, project)
    return (None, None, missing) if missing else (session, form, None)
