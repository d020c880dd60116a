"""What every page of the web app shares: settings, the store, the staging area, rendering, sign-in."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2
from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse

from lab_sync.store import TwinStore
from lab_sync.upload import StructureKey, standardized_structure
from interfaces.web.preview import format_cell
from interfaces.web.staging import Staging
from interfaces.web.throttle import SignInThrottle
from interfaces.web.updater import TwinUpdater
from interfaces.web.users import Session, find_session
from moltwin.settings_base import StrictModel

SESSION_COOKIE = "moltwin_session"
#: Sign-in, sign-out and confirm forms are tiny; anything bigger is not ours.
SMALL_FORM_BYTES = 64 * 1024


class WebSettings(StrictModel):
    """Settings of the chemists' web page (``moltwin serve``)."""

    max_upload_bytes: int = Field(50 * 1000 * 1000, gt=0,
                                  description="Largest assay file accepted, in bytes (50 MB).")
    staging_dir: Path | None = Field(None, description="Scratch area for checked uploads, kept a day "
                                     "(default: $MOLTWIN_HOME/web-staging).")
    archive_dir: Path | None = Field(None, description="Where committed files are archived "
                                     "(default: $MOLTWIN_HOME/archive).")
    session_hours: float = Field(12.0, gt=0, description="How long a sign-in lasts.")
    secure_cookies: bool = Field(False, description="Mark the session cookie HTTPS-only "
                                 "(set when served behind HTTPS).")
    twin_update_inline: bool = Field(False, description="Run the twin update inside the commit "
                                     "request instead of a background thread (tests).")
    max_rows_shown: int = Field(1000, gt=0, description="Rows shown per table on the pages.")
    signin_user_failures: int = Field(5, ge=1, description="Wrong tokens for one name before "
                                      "sign-in back-off starts.")
    signin_client_failures: int = Field(20, ge=1, description="Failed sign-ins from one address "
                                        "before back-off starts.")
    signin_max_backoff_s: float = Field(900.0, gt=0, description="Longest sign-in back-off.")
    staging_hours: float = Field(24.0, gt=0, description="How long a checked, unconfirmed file "
                                 "is kept.")
    staging_clean_every_s: float = Field(600.0, gt=0, description="How often expired checked "
                                         "files are deleted.")
    staging_files_per_user: int = Field(5, ge=1, description="Checked, unconfirmed files kept "
                                        "per user (older ones are dropped).")
    staging_max_bytes: int = Field(2 * 1000 * 1000 * 1000, gt=0, description="Checked files kept "
                                   "in all, in bytes (the oldest are dropped first).")


def cached_structure_key(key: StructureKey = standardized_structure, size: int = 50_000) -> StructureKey:
    """Remember standardized structures, so checking a file again just before commit is quick."""
    return lru_cache(maxsize=size)(key)


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("interfaces.web", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = format_cell
    return env


@dataclass
class WebContext:
    """One running web app's shared state (kept in ``app.state.ctx``)."""

    store: TwinStore
    store_url: str
    settings: WebSettings
    staging: Staging
    updater: TwinUpdater
    structure_key: StructureKey
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    templates: jinja2.Environment = field(default_factory=_templates)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)

    def render(self, template: str, *, status: int = 200, session: Session | None = None,
               **values: object) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            session=session, user=session.user if session else None,
            csrf=session.csrf_token if session else "", max_mb=self.settings.max_upload_bytes / 1e6,
            max_bytes=self.settings.max_upload_bytes, **values)
        return HTMLResponse(html, status_code=status)

    def message(self, title: str, text: str, *, status: int, session: Session | None = None,
                links: list[tuple[str, str]] | None = None, details: list[str] | None = None,
                tone: str = "error") -> HTMLResponse:
        """A plain page that says what happened and where to go next (``tone``: error, notice, ok)."""
        return self.render("message.html", status=status, session=session, title=title, text=text,
                           links=links or [("/", "Back to the start page")], details=details or [], tone=tone)


def get_ctx(request: Request) -> WebContext:
    return request.app.state.ctx


def served_over_https(request: Request) -> bool:
    """HTTPS to the browser: directly, or through a proxy that says so (it only makes cookies
    stricter, so a forged header gains nothing)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def current_session(request: Request) -> Session | None:
    return find_session(get_ctx(request).store, request.cookies.get(SESSION_COOKIE))
