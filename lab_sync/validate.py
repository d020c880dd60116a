"""Row-by-row validation of an assay table into normalized measurements.

Every problem becomes a :class:`RowError` naming the file line, column, value
and a plain reason a bench chemist can act on. Structure checks (SMILES,
id/structure conflicts) happen in :mod:`lab_sync.upload`, which knows the registry.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from lab_sync import units
from lab_sync.dates import normalize_date
from lab_sync.field_limits import too_long
from lab_sync.header_vocabulary import mapping_option, propose_mapping, suspicious_column
from lab_sync.read_table import RawTable

MISSING = {"", "na", "n/a", "n.a.", "nd", "n.d.", "nan", "null", "none", "-", "--", "?"}


@dataclass(slots=True)
class RowError:
    row: int
    column: str
    value: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Measurement:
    """One validated, normalized measurement (still keyed by the file's compound id)."""

    source_row: int
    compound_id: str
    smiles: str
    assay_id: str
    endpoint: str
    qualifier: str
    value: float
    units: str
    value_nm: float | None
    p_activity: float | None
    test_concentration_nm: float | None
    replicate: str
    test_date: str
    operator: str

    def to_dict(self) -> dict:
        return asdict(self)


REQUIRED = ("compound_id", "value")
_SAMPLE_ROWS = 200  # enough rows to judge what an unmapped column holds


def _unmapped_values(table: RawTable) -> dict[str, list[str]]:
    sample = (table.sample if hasattr(table, "sample") else table.rows)[:_SAMPLE_ROWS]
    return {h: [r.get(f"_extra:{h}", "") for r in sample] for h in table.unmapped_columns}


def check_columns(table: RawTable, filename: str, default_assay: str | None) -> list[RowError]:
    """Whole-file column problems (reported on the header row).

    A missing required column names the file's headers and proposes a mapping as the exact
    ``--mapping`` option; an unmapped column whose values look like qualifiers or units stops
    the upload (ignoring it could turn ``>10000`` into an exact 10000).
    """
    errors = []
    have = set(table.columns)
    values = _unmapped_values(table)
    missing = [c for c in ("compound_id", "value", "endpoint", "qualifier", "units")
               if c not in have and not (c in {"value", "endpoint"} and "p_value" in have)]
    proposal = propose_mapping(table.unmapped_columns, values, missing)
    headers = ", ".join(table.headers or [c.removeprefix("_extra:") for c in table.columns])
    for col in REQUIRED:
        if col not in have and not (col == "value" and "p_value" in have):
            mine = {h: c for h, c in proposal.items() if c == col}
            hint = (f"; did you mean {', '.join(f'{h!r} as {c!r}' for h, c in mine.items())}? "
                    f"Upload again with {mapping_option(proposal)}") if mine else (
                "; name the column with --mapping 'FILE HEADER=" + col + "'")
            errors.append(RowError(1, col, "", f"required column '{col}' not found; the file's "
                                   f"columns are: {headers}{hint}"))
    for header, cells in values.items():
        why = suspicious_column(header, cells)
        if why:
            errors.append(RowError(1, header, "", why))
    if "endpoint" not in have and "p_value" not in have:
        errors.append(RowError(1, "endpoint", "", "no 'endpoint' column (IC50, Ki, Kd, EC50, pIC50, "
                               "pct_inhibition) and no pChEMBL value column"))
    if "assay_id" not in have and not default_assay:
        errors.append(RowError(1, "assay_id", "", "no 'assay_id' column; add one or pass --assay"))
    return errors


def validate_row(row: dict[str, str], line: int, *, default_assay: str | None,
                 comma_decimal: bool, date_order: str = "ymd"
                 ) -> tuple[Measurement | None, list[RowError]]:
    errs: list[RowError] = []

    def bad(col: str, reason: str) -> None:
        errs.append(RowError(line, col, row.get(col, ""), reason))

    long_fields = {col for col, text in row.items() if too_long(col, text)}
    for col in sorted(long_fields):
        bad(col, too_long(col, row[col]))
    if long_fields:  # the rest of a row with a pasted novel in it is not worth checking
        return None, errs
    if "_too_many_cells" in row:
        bad("_row", row["_too_many_cells"] + " (a delimiter inside an unquoted value?)")
    cid = row.get("compound_id", "")
    if cid.lower() in MISSING:
        bad("compound_id", "compound id is empty")
    assay = row.get("assay_id") or default_assay or ""
    if not assay:
        bad("assay_id", "assay id is empty (add it to the row or pass --assay)")

    endpoint_text = row.get("endpoint", "")
    value_text = row.get("value", "")
    if (not endpoint_text or value_text.lower() in MISSING) and row.get("p_value", "").lower() not in MISSING:
        # ChEMBL export: fall back to the pChEMBL value when the standard value is absent.
        endpoint_text = "p" + (endpoint_text or "IC50")
        value_text = row["p_value"]
    endpoint = units.canonical_endpoint(endpoint_text) if endpoint_text else None
    if endpoint is None:
        bad("endpoint", f"unknown endpoint '{endpoint_text}' (accepted: IC50, Ki, Kd, EC50, pIC50, pKi, "
                        "pKd, pEC50, pct_inhibition)")

    qualifier, value = "=", math.nan
    if value_text.lower() in MISSING:
        bad("value", "no value (blank, NA or n.d.); leave the row out, or give a censored value like >10000")
    else:
        try:
            qualifier, value = units.parse_value(value_text, comma_decimal=comma_decimal)
        except ValueError as exc:
            bad("value", str(exc))
    if row.get("qualifier", "").strip() not in {"", "="}:
        try:
            col_q = units.normalize_qualifier(row["qualifier"])
            if qualifier != "=" and col_q != qualifier:
                bad("qualifier", f"qualifier column says '{col_q}' but the value says '{qualifier}'")
            qualifier = col_q
        except ValueError as exc:
            bad("qualifier", str(exc))

    test_date = row.get("test_date", "")
    if test_date.lower() not in MISSING:
        try:
            test_date = normalize_date(test_date, date_order)
        except ValueError as exc:
            bad("test_date", str(exc))
    else:
        test_date = ""

    unit_text = row.get("units", "")
    value_nm = p_act = conc_nm = None
    if endpoint and not math.isnan(value):
        if endpoint in {"IC50", "Ki", "Kd", "EC50"}:
            if value <= 0:
                bad("value", f"{endpoint} must be positive, got {value:g}")
            else:
                try:
                    value_nm = units.to_nm(value, unit_text or "")
                    p_act = units.p_from_nm(value_nm)
                except ValueError as exc:
                    bad("units", str(exc) if unit_text else f"{endpoint} needs units (nM, µM, ...)")
        elif endpoint != "pct_inhibition":
            if not 0 < value < 15:
                bad("value", f"{endpoint} {value:g} is outside the plausible range 0–15")
            p_act = value
        else:  # pct_inhibition
            if not -50 <= value <= 150:
                bad("value", f"% inhibition {value:g} is outside −50…150")
            conc = row.get("test_concentration", "")
            if conc.lower() in MISSING:
                bad("test_concentration", "% inhibition needs the test concentration it was measured at")
            else:
                try:
                    _, c = units.parse_value(conc, comma_decimal=comma_decimal)
                    conc_nm = units.to_nm(c, row.get("test_concentration_units") or "uM")
                except ValueError as exc:
                    bad("test_concentration", str(exc))
    if errs:
        return None, errs
    return Measurement(
        source_row=line, compound_id=cid, smiles=row.get("smiles", ""), assay_id=assay,
        endpoint=endpoint or "", qualifier=qualifier, value=value,
        units=unit_text or ("%" if endpoint == "pct_inhibition" else ""), value_nm=value_nm,
        p_activity=p_act, test_concentration_nm=conc_nm, replicate=row.get("replicate", ""),
        test_date=test_date, operator=row.get("operator", "")), []
