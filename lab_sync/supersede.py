"""Corrected re-uploads: a new upload supersedes an earlier one, with history kept.

A correction is the *whole* corrected file. Superseding never deletes anything: the
earlier upload's measurements stay in the store with ``active = False`` (aggregation,
training and the ledger read active rows only), and the earlier upload row gets
``superseded_by`` and status ``superseded``. The quarantine rows and the archived raw
file of the earlier upload are kept as they were.

Superseding happens inside the new upload's transaction
(:func:`lab_sync.upload.upload_assay_file` with ``supersedes=``), or afterwards for two
uploads already committed (:func:`supersede_committed`). Re-uploading a file under a name
already used in the project is *not* taken as a correction unless the caller says so
(``--replace-same-name``); otherwise the upload report carries a note naming the earlier
upload (:func:`same_name_notes`).
"""

from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.engine import Connection

from lab_sync import schema
from lab_sync.duplicates import release_copies_of
from lab_sync.store import TwinStore
from moltwin.errors import BadInputError


def check_supersedable(conn: Connection, project: str, upload_id: str) -> None:
    """Raise :class:`BadInputError` unless ``upload_id`` is a live upload of ``project``."""
    up = schema.uploads
    row = conn.execute(select(up.c.project, up.c.superseded_by, up.c.status)
                       .where(up.c.upload_id == upload_id)).first()
    if row is None:
        raise BadInputError(f"no upload {upload_id} to supersede; see `moltwin assays list --project "
                            f"{project}`", field="supersedes")
    if row.project != project:
        raise BadInputError(f"upload {upload_id} belongs to project {row.project}, not {project}",
                            field="supersedes")
    if row.superseded_by:
        raise BadInputError(f"upload {upload_id} was already superseded by {row.superseded_by}; "
                            f"supersede {row.superseded_by} instead", field="supersedes")


def mark_superseded(conn: Connection, project: str, old_upload_id: str, new_upload_id: str) -> int:
    """Deactivate ``old_upload_id``'s measurements and point it at ``new_upload_id``.

    Runs inside the caller's transaction; returns how many measurements were deactivated.
    """
    if old_upload_id == new_upload_id:
        raise BadInputError("an upload cannot supersede itself", field="supersedes")
    check_supersedable(conn, project, old_upload_id)
    m, up = schema.measurements, schema.uploads
    n = conn.execute(update(m).where((m.c.upload_id == old_upload_id) & m.c.active)
                     .values(active=False)).rowcount
    conn.execute(update(up).where(up.c.upload_id == old_upload_id)
                 .values(superseded_by=new_upload_id, status="superseded"))
    release_copies_of(conn, old_upload_id, new_upload_id)
    return int(n or 0)


def supersede_committed(store: TwinStore, project: str, old_upload_id: str, new_upload_id: str) -> int:
    """Mark an already committed upload as the correction of an earlier one (one transaction)."""
    with store.transaction() as conn:
        store.lock_project(conn, project)
        check_supersedable(conn, project, new_upload_id)
        return mark_superseded(conn, project, old_upload_id, new_upload_id)


def live_upload_with_name(store: TwinStore, project: str, filename: str, sha256: str | None = None
                          ) -> str | None:
    """The newest non-superseded upload of ``project`` named ``filename`` (with other bytes
    than ``sha256`` when given), or None."""
    up = schema.uploads
    stmt = (select(up.c.upload_id, up.c.sha256).where(
        (up.c.project == project) & (up.c.filename == filename) & up.c.superseded_by.is_(None))
        .order_by(up.c.uploaded_at.desc()))
    with store.engine.connect() as conn:
        for row in conn.execute(stmt):
            if sha256 is None or row.sha256 != sha256:
                return row.upload_id
    return None


def same_name_notes(store: TwinStore, project: str, filename: str, sha256: str,
                    upload_id: str | None) -> list[str]:
    """A note when another live upload of the project has the same name but other bytes."""
    up = schema.uploads
    with store.engine.connect() as conn:
        rows = conn.execute(select(up.c.upload_id).where(
            (up.c.project == project) & (up.c.filename == filename) & (up.c.sha256 != sha256)
            & up.c.superseded_by.is_(None) & (up.c.upload_id != (upload_id or "")))).all()
    if not rows:
        return []
    ids = ", ".join(r.upload_id for r in rows)
    return [f"upload(s) {ids} of this project have the same file name with different content; both are "
            "counted. If this file corrects them, run `moltwin assays supersede OLD_ID --by "
            f"{upload_id or 'NEW_ID'} --project {project}` (next time: upload with --supersedes OLD_ID "
            "or --replace-same-name)"]


def upload_history(store: TwinStore, project: str) -> list[dict]:
    """Every upload of the project, oldest first, with what superseded it and how many of its
    measurements are stored and active."""
    up, m = schema.uploads, schema.measurements
    with store.engine.connect() as conn:
        uploads = conn.execute(select(up).where(up.c.project == project).order_by(up.c.uploaded_at)).all()
        counts = {r.upload_id: (int(r.n_active or 0), int(r.n_total)) for r in conn.execute(
            select(m.c.upload_id, func.count().label("n_total"),
                   func.sum(case((m.c.active, 1), else_=0)).label("n_active"))
            .where(m.c.project == project).group_by(m.c.upload_id))}
    return [{"upload_id": u.upload_id, "filename": u.filename, "uploaded_at": u.uploaded_at,
             "uploader": u.uploader, "status": u.status, "superseded_by": u.superseded_by,
             "n_measurements": counts.get(u.upload_id, (0, 0))[1],
             "n_active": counts.get(u.upload_id, (0, 0))[0]} for u in uploads]
