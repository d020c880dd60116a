"""moltwin db: inspect and migrate the twin store."""

from __future__ import annotations

from typing import Optional

import typer

from interfaces.cli import DbOpt, JsonOpt, app, emit, fail

db_app = typer.Typer(help="Inspect and migrate the twin store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("info")
def db_info(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Show the store's URL, schema version and row counts."""
    try:
        from lab_sync import schema
        from lab_sync.store import open_existing_store

        store = open_existing_store(db)
        info = {"url": store.url, "schema_version": store.schema_version(),
                "counts": {t: store.count(t) for t in schema.metadata.tables if t != "schema_version"}}
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(info, as_json, "\n".join([f"url: {info['url']}", f"schema version: {info['schema_version']}"]
                                   + [f"{k}: {v}" for k, v in info["counts"].items()]))


@db_app.command("init")
def db_init(db: Optional[str] = DbOpt) -> None:
    """Create a new, empty twin store (the only command besides `db migrate` and `demo` that does)."""
    try:
        from lab_sync.store import open_store

        store = open_store(db, migrate=False)
        existed = store.schema_version() > 0
        applied = store.migrate()
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    if existed:
        typer.echo(f"twin store {store.url} already exists (schema version {store.schema_version()}"
                   f"{'; applied migrations ' + str(applied) if applied else ''})")
    else:
        typer.echo(f"created the twin store {store.url} (schema version {store.schema_version()})")


@db_app.command("migrate")
def db_migrate(db: Optional[str] = DbOpt) -> None:
    """Create the store or bring its schema up to date."""
    try:
        from lab_sync.store import open_store

        store = open_store(db, migrate=False)
        applied = store.migrate()
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    typer.echo(f"applied migrations: {applied or 'none'}; schema version {store.schema_version()}")
