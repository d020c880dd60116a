"""Plug the twin's browsing pages into the web app: the one call ``create_app`` makes."""

from __future__ import annotations

from fastapi import FastAPI

from interfaces.web import browse, compound_page, projects, runs, sar, whatif
from interfaces.web.context import WebContext
from interfaces.web.job_queue import JobQueue
from interfaces.web.model_cache import ModelCache
from interfaces.web.twin_cache import TwinCache
from interfaces.web.twin_services import TwinServices
from moltwin.paths import twin_home


def install_twin_pages(app: FastAPI, ctx: WebContext) -> None:
    """Keep the shared services in ``app.state.twin`` and include the browsing routers.

    Call it before the upload pages' router: its home page (``/``) takes the place of the
    upload page's project chooser, which it also shows.
    """
    home = ctx.settings.staging_dir.parent if ctx.settings.staging_dir else twin_home()
    app.state.twin = TwinServices(cache=TwinCache(ctx.store, home / "web-cache"), models=ModelCache(ctx.store),
                                  jobs=JobQueue(ctx.store_url))
    for module in (browse, projects, compound_page, whatif, sar, runs):
        app.include_router(module.router)
