"""Suspected duplicates: the same measurement uploaded again in a *different* file.

Same compound, assay, endpoint, qualifier, value, date and operator as an active measurement
of an earlier upload is far more often the same result sent twice than a true replicate.
Such a row is stored but quarantined: ``active = False`` (aggregation and training skip it)
with a ``_suspected_duplicate`` quarantine row naming the earlier upload and row. The uploader
confirms a true replicate with :func:`confirm_replicate` (``moltwin assays confirm-replicate``)
or at upload time (``--confirm-replicates``).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from lab_sync import schema
from lab_sync.store import TwinStore
from moltwin.errors import BadInputError

FLAG = "_suspected_duplicate"
CONFIRMED = "_confirmed_replicate"


def _key(compound_id, assay_id, endpoint, qualifier, value, units, value_nm, test_date,
         operator) -> tuple:
    # 120 nM and 0.12 µM are the same value; 10 nM and 10 µM are not.
    amount = f"{value_nm:.6g} nM" if value_nm is not None else f"{float(value):.6g} {units}"
    return (str(compound_id), str(assay_id), str(endpoint), str(qualifier), amount,
            str(test_date or ""), str(operator or ""))


def earlier_copies(conn: Connection, project: str, measurements: list) -> dict[int, tuple]:
    """``{source_row: (upload_id, source_row)}`` of rows already stored from another upload."""
    m = schema.measurements
    ids = {m.compound_id for m in measurements}
    if not ids:
        return {}
    stored = {}
    for r in conn.execute(select(m.c.compound_id, m.c.assay_id, m.c.endpoint, m.c.qualifier,
                                 m.c.value, m.c.units, m.c.value_nm, m.c.test_date, m.c.operator,
                                 m.c.upload_id, m.c.source_row)
                          .where((m.c.project == project) & m.c.active
                                 & m.c.compound_id.in_(sorted(ids)))
                          .order_by(m.c.id)):
        stored.setdefault(_key(*r[:9]), (r.upload_id, r.source_row))
    out = {}
    if not stored:
        return {}
    for m in measurements:  # lab_sync.validate.Measurement
        hit = stored.get(_key(m.compound_id, m.assay_id, m.endpoint, m.qualifier, m.value,
                              m.units, m.value_nm, m.test_date, m.operator))
        if hit:
            out[m.source_row] = hit
    return out


def reason(upload_id: str, source_row: int) -> str:
    return (f"suspected duplicate: the same compound, assay, endpoint, value, date and operator as "
            f"upload {upload_id} row {source_row}; stored but not counted. If it is a true "
            f"replicate, confirm it (moltwin assays confirm-replicate UPLOAD --row N)")


def confirm_replicate(store: TwinStore, project: str, upload_id: str, source_row: int, *,
                      confirmed_by: str) -> None:
    """Count a quarantined suspected duplicate as a true replicate."""
    m, q = schema.measurements, schema.quarantine
    with store.transaction() as conn:
        flagged = conn.execute(select(q.c.id).where(
            (q.c.upload_id == upload_id) & (q.c.source_row == source_row)
            & (q.c.column_name == FLAG))).first()
        if flagged is None:
            raise BadInputError(f"upload {upload_id} has no suspected duplicate at row {source_row}",
                                field="row")
        n = conn.execute(update(m).where((m.c.project == project) & (m.c.upload_id == upload_id)
                                         & (m.c.source_row == source_row))
                         .values(active=True)).rowcount
        if n == 0:
            raise BadInputError(f"upload {upload_id} of project {project} has no row {source_row}",
                                field="row")
        # The quarantine row stays as the audit trail of who confirmed it.
        conn.execute(update(q).where(q.c.id == flagged.id).values(
            column_name=CONFIRMED, reason=f"confirmed as a true replicate by {confirmed_by}"))


def release_copies_of(conn: Connection, old_upload_id: str, new_upload_id: str) -> int:
    """Count again the rows of ``new_upload_id`` held back as copies of ``old_upload_id``.

    Called when the new upload supersedes the old one: the copies are now the only live rows.
    """
    m, q = schema.measurements, schema.quarantine
    flagged = conn.execute(select(q.c.id, q.c.source_row).where(
        (q.c.upload_id == new_upload_id) & (q.c.column_name == FLAG)
        & q.c.reason.contains(f"upload {old_upload_id} row "))).all()
    for f in flagged:
        conn.execute(update(m).where((m.c.upload_id == new_upload_id)
                                     & (m.c.source_row == f.source_row)).values(active=True))
        conn.execute(update(q).where(q.c.id == f.id).values(
            column_name=CONFIRMED, reason=f"counted: upload {old_upload_id} it copied was superseded"))
    return len(flagged)
