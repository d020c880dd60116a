"""Column mappings a project's chemists confirmed, remembered per project (``column_mappings``, migration 6).

A file's headers are read as :mod:`lab_sync.header_vocabulary` knows them; where a lab's export
uses its own words ("Mean Result", "Ki (nM) prefix"), the chemist picks the column on the upload
page once. Only choices that differ from what the header vocabulary reads by itself are kept
(``""`` meaning "not stored"), so a remembered entry is always a decision someone made; the next
file of the project with that header is read the same way, and the page says so.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, select

from lab_sync import schema
from lab_sync.header_vocabulary import HEADER_ALIASES, canonical_column, norm_header
from lab_sync.store import TwinStore, utcnow
from moltwin.errors import BadInputError

#: canonical column -> what the upload page calls it
COLUMN_LABELS: dict[str, str] = {
    "compound_id": "compound id", "smiles": "structure (SMILES)", "assay_id": "assay id",
    "assay_version": "assay version", "endpoint": "endpoint (IC50, Ki ...)",
    "qualifier": "qualifier (<, >, =)", "value": "value", "units": "units",
    "p_value": "pActivity (pChEMBL)", "test_concentration": "test concentration",
    "test_concentration_units": "test concentration units", "replicate": "replicate / plate",
    "test_date": "test date", "operator": "operator",
}
assert set(COLUMN_LABELS) == set(HEADER_ALIASES)
MAX_HEADER_CHARS = 200


def automatic_column(header: str) -> str:
    """The column the header vocabulary reads ``header`` as by itself ("" when none)."""
    return canonical_column(header) or ""


def check_mapping(mapping: dict[str, str]) -> dict[str, str]:
    """``mapping`` ({file header: column or ""}) when every column is known and used once.

    Raises
    ------
    BadInputError
        Naming the headers that share a column, or a column that does not exist.
    """
    for header, column in mapping.items():
        if column and column not in HEADER_ALIASES:
            raise BadInputError(f"'{column[:60]}' is not a column MolTwin stores (header '{header[:80]}').",
                                field="mapping")
    used = Counter(c for c in mapping.values() if c)
    for column, n in used.items():
        if n > 1:
            headers = [h for h, c in mapping.items() if c == column]
            raise BadInputError(f"{n} columns of the file are read as {COLUMN_LABELS[column]}: "
                                + ", ".join(f"'{h}'" for h in headers)
                                + ". Choose one of them and set the others to 'not stored'.",
                                field="mapping")
    return mapping


def saved_mapping(store: TwinStore, project: str) -> dict[str, str]:
    """``{normalized header: column or ""}`` the project's chemists confirmed before."""
    t = schema.column_mappings
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.header, t.c.column_name).where(t.c.project == project)).all()
    return {r.header: r.column_name for r in rows}


def mapping_for(saved: dict[str, str], headers: list[str]) -> dict[str, str]:
    """The remembered choices that apply to a file with ``headers`` ({file header: column})."""
    return {h: saved[norm_header(h)] for h in headers if norm_header(h) in saved}


def remember_mapping(store: TwinStore, project: str, mapping: dict[str, str], user: str) -> dict[str, str]:
    """Keep the choices of ``mapping`` that differ from the automatic reading; forget the others.

    Returns the choices kept ({normalized header: column}).
    """
    check_mapping(mapping)
    t = schema.column_mappings
    kept = {}
    with store.transaction() as conn:
        for header, column in mapping.items():
            key = norm_header(header)[:MAX_HEADER_CHARS]
            if not key:
                continue
            conn.execute(delete(t).where((t.c.project == project) & (t.c.header == key)))
            if column != automatic_column(header):
                conn.execute(t.insert().values(project=project, header=key, column_name=column,
                                               saved_by=user, saved_at=utcnow()))
                kept[key] = column
    return kept
