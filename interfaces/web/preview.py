"""What a dry run shows the chemist: the rows that would be stored, and a fingerprint of it.

The fingerprint (counts, every row error, the new compounds) is taken when the
chemist looks at the validation table and again just before committing; if the
twin changed in between (another upload registered a compound), the chemist is
shown the new table instead of committing something they did not see.
"""

from __future__ import annotations

import hashlib
import json

from lab_sync.read_table import read_assay_table
from lab_sync.upload import UploadReport
from lab_sync.validate import validate_row

#: Columns of the "will be stored" table, in order, with their headings.
STORED_COLUMNS = [("source_row", "row"), ("compound_id", "compound"), ("assay_id", "assay"),
                  ("endpoint", "endpoint"), ("qualifier", "qualifier"), ("value", "value"),
                  ("units", "units"), ("value_nm", "value (nM)"), ("p_activity", "pActivity"),
                  ("test_concentration_nm", "test conc. (nM)"), ("replicate", "replicate"),
                  ("test_date", "date"), ("operator", "operator")]


def fingerprint(report: UploadReport) -> str:
    """SHA-256 of what validation showed (counts, row errors, new compounds)."""
    payload = {"n_rows": report.n_rows, "n_valid": report.n_valid, "n_invalid": report.n_invalid,
               "errors": [e.to_dict() for e in report.errors], "new": sorted(report.new_compounds)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def rows_to_store(report: UploadReport, data: bytes, default_assay: str | None,
                  mapping: dict[str, str] | None = None) -> list[dict]:
    """The normalized measurements a commit of this file would store.

    Uses the report's own first validated rows (``report.preview``, with the ids they will
    be filed under) when it has them; otherwise re-runs the same per-row validation on the
    rows that have no error (the file's compound ids are shown as written; a structure
    already registered under another id is stored under that id).
    """
    if report.n_valid == 0:
        return []
    measured = report.preview or None  # the check's own rows: no second read of the file
    if measured is None:
        table = read_assay_table(data, report.filename, mapping or None)
        bad_rows = {e.row for e in report.errors}
        measured = []
        for row, line in zip(table.rows, table.line_numbers):
            if line in bad_rows:
                continue
            m, _ = validate_row(row, line, default_assay=default_assay,
                                comma_decimal=table.delimiter == ";")
            if m is not None:
                measured.append(m)
    return [m.to_dict() if hasattr(m, "to_dict") else dict(m) for m in measured]


def format_cell(value: object) -> str:
    """Numbers the way a chemist reads them (4 significant digits); blanks for missing."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        # 10000 nM reads better than 1e+04; tiny values keep the exponent.
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)
