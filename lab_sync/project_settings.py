"""Per-project settings kept in the twin store (``projects`` table, migration 4)."""

from __future__ import annotations

from sqlalchemy import select

from lab_sync import schema
from lab_sync.dates import DATE_ORDERS
from lab_sync.store import TwinStore
from moltwin.errors import BadInputError


def project_date_order(store: TwinStore, project: str) -> str:
    """The project's order for ``NN/NN/YYYY`` dates (``ymd``: ISO only, the default)."""
    p = schema.projects
    with store.engine.connect() as conn:
        row = conn.execute(select(p.c.date_order).where(p.c.name == project)).first()
    return row.date_order if row else "ymd"


def set_project_date_order(store: TwinStore, project: str, order: str) -> None:
    """Set how the project reads ``NN/NN/YYYY`` test dates (:data:`lab_sync.dates.DATE_ORDERS`)."""
    if order not in DATE_ORDERS:
        raise BadInputError(f"date order '{order}' is not one of {', '.join(DATE_ORDERS)}",
                            field="date_order")
    p = schema.projects
    with store.transaction() as conn:
        store.ensure_project(project, conn=conn)
        conn.execute(p.update().where(p.c.name == project).values(date_order=order))
