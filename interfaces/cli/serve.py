"""moltwin serve (the chemists' web page) and moltwin users (who may sign in to it)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import DbOpt, JsonOpt, app, emit, fail

users_app = typer.Typer(help="Manage who may sign in to the web page (moltwin serve).", no_args_is_help=True)
app.add_typer(users_app, name="users")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
          port: int = typer.Option(8000, "--port", help="Port to listen on."),
          db: Optional[str] = DbOpt,
          max_upload_mb: float = typer.Option(50.0, "--max-upload-mb", help="Largest assay file accepted (MB)."),
          staging_dir: Optional[Path] = typer.Option(None, "--staging-dir", help="Scratch folder for checked "
                                                     "uploads (default: $MOLTWIN_HOME/web-staging)."),
          secure_cookies: bool = typer.Option(False, "--secure-cookies", help="HTTPS-only session cookies "
                                              "(when served behind an HTTPS proxy).")) -> None:
    """Serve the twin's web app for chemists: browse, ask what-if, SAR, runs, and upload assay results."""
    try:
        import uvicorn

        from lab_sync.store import open_existing_store
        from interfaces.web.app import create_app
        from interfaces.web.context import WebSettings
        from interfaces.web.users import list_users

        open_existing_store(db)  # the page never starts an empty twin on a mistyped --db
        web = create_app(db, WebSettings(max_upload_bytes=int(max_upload_mb * 1e6), staging_dir=staging_dir,
                                         secure_cookies=secure_cookies))
        ctx = web.state.ctx
        n_users = len(list_users(ctx.store))
        # What-if answers are warm from the first request: the latest activity model of each project.
        for note in web.state.twin.models.preload():
            typer.echo(f"moltwin: note: {note}", err=True)
        web.state.twin.models.preload_admet()
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    if host not in _LOOPBACK:
        typer.echo(f"moltwin: warning: serving plain HTTP on {host}; tokens cross the network readable. "
                   "Put it behind HTTPS and pass --secure-cookies.", err=True)
    if not n_users:
        typer.echo("moltwin: no users yet; add one with: moltwin users add NAME --role uploader", err=True)
    typer.echo(f"MolTwin twin pages on http://{host}:{port}/ (twin store {ctx.store.url}); Ctrl+C stops.",
               err=True)
    uvicorn.run(web, host=host, port=port, log_level="info")


@users_app.command("add")
def users_add(name: str = typer.Argument(..., help="User name (letters, digits, . _ - @)."),
              role: str = typer.Option(..., "--role", help="uploader (may store files) or viewer (may only check)."),
              replace: bool = typer.Option(False, "--replace", help="Give an existing user a new token (and role); "
                                           "ends their sessions."),
              db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Add a user and print their token once (it is stored only as a salted hash)."""
    try:
        from lab_sync.store import open_existing_store
        from interfaces.web.users import add_user

        token = add_user(open_existing_store(db), name, role, replace=replace)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit({"name": name, "role": role, "token": token}, as_json,
         f"user {name} ({role}) {'has a new token' if replace else 'added'}. Their token, shown only this once:\n"
         f"  {token}\nGive it to them privately; they sign in with their name and this token.")


@users_app.command("list")
def users_list(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """List users and their roles (tokens are never shown again)."""
    try:
        from lab_sync.store import open_existing_store
        from interfaces.web.users import list_users

        users = list_users(open_existing_store(db))
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    text = "\n".join(f"{u['name']:<24} {u['role']:<9} added {str(u['created_at'])[:19]}" for u in users)
    emit(users, as_json, text or "no users (add one with: moltwin users add NAME --role uploader)")
