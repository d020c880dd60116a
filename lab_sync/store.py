"""The twin store: one database holding the project's compounds, measurements,
predictions, simulations, rankings and runs.

SQLite by default (a file in the working directory), any SQLAlchemy URL
(e.g. ``postgresql+psycopg://...``) through ``MOLTWIN_DB`` or ``--db``. Every
write goes through :meth:`TwinStore.transaction`, so an upload or a run is
either stored whole or not at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from lab_sync import schema
from moltwin.errors import BadInputError, StoreError

DB_ENV_VAR = "MOLTWIN_DB"
DEFAULT_DB_FILE = "moltwin.db"
_MIGRATION_LOCK_KEY = 0x6D6F6C74  # "molt": the PostgreSQL advisory lock held while migrating


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def resolve_db_url(db: str | None = None, *, cwd: Path | None = None) -> str:
    """Return the database URL: ``db`` argument, else ``$MOLTWIN_DB``, else ./moltwin.db.

    A bare path (no ``://``) is taken as an SQLite file.
    """
    value = db or os.environ.get(DB_ENV_VAR) or str((cwd or Path.cwd()) / DEFAULT_DB_FILE)
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class TwinStore:
    """Access to the twin database. Create with :func:`open_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # -- transactions and schema -------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: commits on success, rolls back on any exception.

        On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken up front (waiting up
        to the busy timeout), so two writers are serialized. The deferred default lets both read,
        then fails the second at its first write with "database is locked" and lets
        check-then-insert races (a project, a duplicate upload) through.
        """
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"twin store {self.url}: {exc.__class__.__name__}: {exc}") from exc

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, "schema_version"):
                return 0
            return int(conn.execute(select(func.max(schema.schema_version.c.version))).scalar() or 0)

    def migrate(self) -> list[int]:
        """Apply pending migrations in order; returns the versions applied."""
        applied = []
        current = self.schema_version()
        if current > schema.LATEST_VERSION:
            raise StoreError(f"twin store {self.url} has schema version {current}, newer than this "
                             f"MolTwin understands ({schema.LATEST_VERSION}); upgrade MolTwin.")
        for migration in schema.MIGRATIONS:
            if migration.version <= current:
                continue
            with self.transaction() as conn:
                # Two workers opening a fresh database at once must not both create the tables:
                # PostgreSQL serializes them on an advisory lock (SQLite on BEGIN IMMEDIATE), and
                # the version is read again under the lock.
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
                schema.schema_version.create(conn, checkfirst=True)
                done = conn.execute(select(func.max(schema.schema_version.c.version))).scalar() or 0
                if migration.version <= done:
                    continue
                migration.upgrade(conn)
                conn.execute(insert(schema.schema_version).values(
                    version=migration.version, description=migration.description,
                    applied_at=utcnow()))
            applied.append(migration.version)
        return applied

    def lock_project(self, conn: Connection, project: str) -> None:
        """Serialize this project's writers until ``conn``'s transaction ends.

        PostgreSQL: a transaction-scoped advisory lock on the project name. SQLite needs nothing
        more: :meth:`transaction` already holds the database's single write lock.
        """
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": project})

    # -- projects and compounds -------------------------------------------------
    def ensure_project(self, name: str, description: str = "", conn: Connection | None = None) -> None:
        with self._conn(conn) as c:
            exists = c.execute(select(schema.projects.c.name).where(
                schema.projects.c.name == name)).first()
            if not exists:
                c.execute(insert(schema.projects).values(name=name, description=description,
                                                         created_at=utcnow()))

    def register_compounds(self, project: str, rows: Iterable[dict], conn: Connection | None = None
                           ) -> pd.DataFrame:
        """Register compounds, deduplicated by InChIKey within the project.

        Each row needs ``compound_id, smiles, inchikey, origin`` (``provenance``,
        ``input_smiles`` (the structure as given) and ``standardization`` (the steps that
        rewrote it, ``;``-joined or a list) optional).
        Returns a table ``compound_id, registered_id, inchikey, status`` where status is
        ``new`` or ``existing`` (same InChIKey already registered under ``registered_id``).
        A compound id already used for a *different* structure raises :class:`StoreError`.
        """
        out = []
        with self._conn(conn) as c:
            self.ensure_project(project, conn=c)
            known = {r.inchikey: r.compound_id for r in c.execute(
                select(schema.compounds.c.inchikey, schema.compounds.c.compound_id)
                .where(schema.compounds.c.project == project))}
            known_ids = {v: k for k, v in known.items()}
            now = utcnow()
            new_rows = []
            for row in rows:
                key, cid = row["inchikey"], str(row["compound_id"])
                if key in known:
                    out.append({"compound_id": cid, "registered_id": known[key], "inchikey": key,
                                "status": "existing"})
                    continue
                if cid in known_ids:
                    raise StoreError(f"compound id {cid} is already registered in project {project} "
                                     f"for a different structure ({known_ids[cid]})")
                prov = row.get("provenance", {})
                steps = row.get("standardization") or ""
                given = row.get("input_smiles")
                new_rows.append({"project": project, "compound_id": cid,
                                 "canonical_smiles": row["smiles"], "inchikey": key,
                                 "origin": row.get("origin", ""),
                                 "provenance": prov if isinstance(prov, str) else json.dumps(prov),
                                 "input_smiles": given if isinstance(given, str) and given
                                 else row["smiles"],
                                 "standardization": steps if isinstance(steps, str)
                                 else ";".join(steps),
                                 "created_at": now})
                known[key], known_ids[cid] = cid, key
                out.append({"compound_id": cid, "registered_id": cid, "inchikey": key,
                            "status": "new"})
            if new_rows:
                c.execute(insert(schema.compounds), new_rows)
        return pd.DataFrame(out, columns=["compound_id", "registered_id", "inchikey", "status"])

    # -- generic rows -------------------------------------------------------------
    def insert_rows(self, table: str, rows: list[dict], conn: Connection | None = None) -> int:
        """Insert plain dict rows into ``table`` (one statement, inside a transaction)."""
        if not rows:
            return 0
        with self._conn(conn) as c:
            c.execute(insert(schema.metadata.tables[table]), rows)
        return len(rows)

    def read_table(self, table: str, project: str | None = None, **equals: Any) -> pd.DataFrame:
        """Read rows of ``table`` as a DataFrame, filtered by project and column equality."""
        t = schema.metadata.tables[table]
        stmt = select(t)
        if project is not None and "project" in t.c:
            stmt = stmt.where(t.c.project == project)
        for col, value in equals.items():
            stmt = stmt.where(t.c[col] == value)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            # Plain tuples: pandas probes every SQLAlchemy Row object (seconds for 100 k rows).
            return pd.DataFrame([tuple(row) for row in result.fetchall()], columns=list(result.keys()))

    def count(self, table: str, project: str | None = None) -> int:
        t = schema.metadata.tables[table]
        stmt = select(func.count()).select_from(t)
        if project is not None and "project" in t.c:
            stmt = stmt.where(t.c.project == project)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    # -- runs ---------------------------------------------------------------------
    def start_run(self, *, run_id: str, project: str, kind: str, config_json: str, config_hash: str,
                  code_version: str, results_dir: str) -> None:
        with self.transaction() as c:
            self.ensure_project(project, conn=c)
            c.execute(insert(schema.runs).values(
                run_id=run_id, project=project, kind=kind, status="running", started_at=utcnow(),
                config_json=config_json, config_hash=config_hash, code_version=code_version,
                results_dir=results_dir, summary_json="{}", error=""))

    def finish_run(self, run_id: str, *, status: str, summary: dict | None = None, error: str = "",
                   conn: Connection | None = None) -> None:
        with self._conn(conn) as c:
            c.execute(update(schema.runs).where(schema.runs.c.run_id == run_id).values(
                status=status, finished_at=utcnow(), summary_json=json.dumps(summary or {}),
                error=error[-4000:]))

    # -- helpers --------------------------------------------------------------------
    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.transaction() as c:
                yield c


def no_store_message(db: str | None, url: str, why: str = "") -> str:
    where = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else \
        make_url(url).render_as_string(hide_password=True)
    given = "--db" if db else (f"${DB_ENV_VAR}" if os.environ.get(DB_ENV_VAR) else "the default")
    return (f"no twin store at {where}{why}; create it with `moltwin db init --db {where}` (or run "
            f"`moltwin demo`), or check {given} for a typo")


def open_existing_store(db: str | None = None) -> TwinStore:
    """Open the twin store at ``db``, never creating one (commands other than ``db init``).

    Raises
    ------
    BadInputError
        When there is no database at the path, or the database has no MolTwin tables
        (a mistyped ``--db``/``MOLTWIN_DB`` must not quietly start an empty twin).
    """
    url = resolve_db_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise BadInputError(no_store_message(db, url), field="--db")
    store = open_store(db, migrate=False)
    try:
        version = store.schema_version()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the twin store '{store.url}': {exc}") from exc
    if version == 0:
        raise BadInputError(no_store_message(db, url, " (the database has no MolTwin tables)"),
                            field="--db")
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the twin store '{url}': {exc}") from exc
    return store


def open_store(db: str | None = None, *, migrate: bool = True) -> TwinStore:
    """Open (and by default create/migrate) the twin store at ``db`` (URL or path)."""
    url = resolve_db_url(db)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory for the twin store {path}: {exc}") from exc
    try:
        engine = create_engine(url, future=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot open the twin store '{url}': {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    store = TwinStore(engine)
    if migrate:
        try:
            store.migrate()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the twin store '{url}': {exc}") from exc
    return store
