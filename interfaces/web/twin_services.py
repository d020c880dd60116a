"""What the browsing pages share beyond the upload page's context: the table cache, models, the job queue.

:func:`install_twin_pages` is the one call ``create_app`` makes: it keeps a
:class:`TwinServices` in ``app.state.twin`` and includes every browsing router.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from interfaces.web.context import WebContext, current_session, get_ctx
from interfaces.web.job_queue import JobQueue
from interfaces.web.model_cache import ModelCache
from interfaces.web.twin_cache import TwinCache
from interfaces.web.users import Session
from moltwin.paths import twin_home


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


def install_twin_pages(app: FastAPI, ctx: WebContext) -> None:
    """Keep the shared services in ``app.state.twin`` and include the browsing routers."""
    from interfaces.web import browse, compound_page, runs, sar, whatif

    home = ctx.settings.staging_dir.parent if ctx.settings.staging_dir else twin_home()
    app.state.twin = TwinServices(cache=TwinCache(ctx.store, home / "web-cache"), models=ModelCache(ctx.store),
                                  jobs=JobQueue(ctx.store_url))
    for module in (browse, compound_page, whatif, sar, runs):
        app.include_router(module.router)
