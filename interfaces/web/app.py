"""Build the chemists' web app (FastAPI, server-rendered HTML, no scripts from elsewhere).

Run it with ``moltwin serve``; tests call :func:`create_app` directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from lab_sync.store import open_store
from lab_sync.upload import StructureKey, standardized_structure
from interfaces.web import pages, plates, uploads
from interfaces.web.context import WebContext, WebSettings, cached_structure_key
from interfaces.web.staging import Staging, StagingJanitor
from interfaces.web.throttle import SignInThrottle
from interfaces.web.twin_routes import install_twin_pages
from interfaces.web.updater import TriggerChoice, TwinUpdater
from moltwin.paths import twin_home

# Everything the pages need comes from this server; inline styles are the only exception.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":  # not sent by every client; sessions, CSRF tokens still apply
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def create_app(db: str | None = None, settings: WebSettings | None = None, *,
               sync_trigger: TriggerChoice = "auto",
               structure_key: StructureKey = standardized_structure) -> FastAPI:
    """The web app over the twin store at ``db`` (URL or SQLite path; default as for the CLI).

    Parameters
    ----------
    db
        Twin store URL or path; migrated on opening (this adds the ``users`` and ``sessions`` tables).
    settings
        Upload limit, staging and archive folders, cookie and session options.
    sync_trigger
        Called as ``sync_trigger(store_url, project, upload_id) -> dict`` after each commit.
        ``"auto"`` uses ``flows.sync_trigger.trigger_sync`` when it is installed; ``None`` never updates.
    structure_key
        SMILES -> (canonical SMILES, InChIKey), as for :func:`lab_sync.upload.upload_assay_file`.
    """
    settings = settings or WebSettings()
    store = open_store(db)
    store_url = store.engine.url.render_as_string(hide_password=False)
    staging = Staging(settings.staging_dir or twin_home() / "web-staging")
    updater = TwinUpdater(staging, store_url, sync_trigger, inline=settings.twin_update_inline)
    throttle = SignInThrottle(user_failures=settings.signin_user_failures,
                              client_failures=settings.signin_client_failures,
                              max_delay_s=settings.signin_max_backoff_s)
    ctx = WebContext(store=store, store_url=store_url, settings=settings, staging=staging,
                     updater=updater, structure_key=cached_structure_key(structure_key),
                     throttle=throttle)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        janitor = StagingJanitor(staging, settings.staging_hours, settings.staging_clean_every_s)
        janitor.start()
        yield
        janitor.stop()
        updater.shutdown()

    app = FastAPI(title="MolTwin", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.ctx = ctx

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                               ) -> Response:
        if request.method == "POST" and not _same_origin(request):
            # Browsers name the page a form came from; a form posted from another site is refused
            # (this also covers the sign-in form, which has no session to carry a CSRF token yet).
            return PlainTextResponse("This form was sent from another web site; nothing was done.",
                                     status_code=403, headers=_SECURITY_HEADERS)
        response = await call_next(request)
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    install_twin_pages(app, ctx)  # first: its home page replaces the project chooser at /
    app.include_router(pages.router)
    app.include_router(uploads.router)
    app.include_router(plates.router)
    return app
