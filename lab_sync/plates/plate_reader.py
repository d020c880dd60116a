"""Read plate-reader exports into well records: well-level long format, or signal grids + a plate map.

Long format: one row per well with plate id, well, well type, compound id, SMILES, concentration
(units in their own column or in the header, e.g. ``Conc (uM)``) and raw signal. Grid format: the
8 x 12 or 16 x 24 signal grids readers export (one or more plates per file, each preceded by a line
naming the plate), plus a plate map in long format giving each well's type, compound and
concentration. Problems with single wells become :class:`~lab_sync.validate.RowError` rows; a file
whose layout cannot be read raises :class:`~moltwin.errors.BadInputError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from lab_sync import units
from lab_sync.plates.wells import layout_for_grid, parse_well, well_name
from lab_sync.read_table import decode_bytes
from lab_sync.validate import MISSING, RowError
from moltwin.errors import BadInputError

#: canonical column -> accepted header spellings (lower case; spaces, '_', '-' and '.' ignored)
PLATE_HEADERS: dict[str, list[str]] = {
    "plate_id": ["plate_id", "plate", "plate barcode", "barcode", "plate name", "plate number", "plateid"],
    "well": ["well", "well id", "well position", "position", "well name", "wellname", "pos"],
    "well_type": ["well_type", "type", "well role", "role", "content", "sample type", "welltype", "kind"],
    "compound_id": ["compound_id", "compound", "cmpd", "cmpd id", "compound name", "sample id", "sample",
                    "molecule", "id", "corporate id"],
    "smiles": ["smiles", "structure", "canonical smiles"],
    "concentration": ["concentration", "conc", "dose", "final concentration", "final conc", "test concentration"],
    "conc_units": ["conc_units", "concentration units", "conc units", "units", "unit"],
    "signal": ["signal", "raw signal", "raw", "value", "counts", "rfu", "rlu", "lum", "luminescence",
               "fluorescence", "absorbance", "od", "intensity", "response", "raw data", "readout"],
    "assay_id": ["assay_id", "assay", "protocol", "target"],
    "read_time": ["read_time", "read time", "measured at", "timestamp", "date", "read date"],
    "operator": ["operator", "scientist", "user", "analyst"],
}
#: well type spellings. "negative control" is the neutral (DMSO, 0 % effect) control and "positive
#: control" the full-inhibition one, as in inhibition assays.
WELL_TYPES: dict[str, list[str]] = {
    "sample": ["sample", "s", "cpd", "compound", "test", "unknown", "x"],
    "high": ["high", "high control", "hc", "h", "neutral", "neutral control", "dmso", "max", "negative control",
             "neg", "neg control", "0%"],
    "low": ["low", "low control", "lc", "l", "inhibitor", "inhibitor control", "min", "positive control", "pos",
            "pos control", "100%", "reference"],
    "blank": ["blank", "empty", "b", "buffer", "none"],
}
_UNIT_IN_HEADER = re.compile(r"^(.*?)\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$")


def _key(text: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", text.strip().strip('"').lower()).strip()


_LOOKUP = {_key(a): canon for canon, aliases in PLATE_HEADERS.items() for a in aliases}
_TYPES = {_key(a): canon for canon, aliases in WELL_TYPES.items() for a in aliases}


@dataclass(slots=True)
class WellRecord:
    """One read well, validated on its own (plate-level checks come later)."""

    plate_id: str
    well: str          # canonical, zero-padded ("A01")
    row: int           # 0-based
    col: int           # 0-based
    well_type: str     # sample | high | low | blank
    signal: float
    source_row: int    # file line (grid files: the grid line; map errors name the map line)
    compound_id: str = ""
    smiles: str = ""
    conc_nm: float | None = None
    assay_id: str = ""
    read_time: str = ""
    operator: str = ""


@dataclass(slots=True)
class PlateRead:
    """What a reader got out of the file(s): valid wells, bad wells and notes."""

    fmt: str  # "long" | "grid"
    wells: list[WellRecord]
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    layouts: dict[str, int] = field(default_factory=dict)  # plate id -> 96 | 384 (grid files)
    n_rows: int = 0


def _header_columns(header: list[str], mapping: dict[str, str] | None) -> tuple[list[str], str, list[str]]:
    """Canonical names for a header; the concentration unit when written in the header."""
    explicit = {_key(k): v for k, v in (mapping or {}).items()}
    columns, unit, unmapped, seen = [], "", [], set()
    for h in header:
        canon = explicit.get(_key(h)) or _LOOKUP.get(_key(h))
        m = _UNIT_IN_HEADER.match(h)
        if canon is None and m:
            canon = explicit.get(_key(m.group(1))) or _LOOKUP.get(_key(m.group(1)))
            if canon == "concentration":
                unit = m.group(2)
            elif canon != "signal":
                canon = None
        if canon is None or canon in seen:
            unmapped.append(h)
            canon = f"_extra:{h}"
        seen.add(canon)
        columns.append(canon)
    return columns, unit, unmapped


def _csv_rows(data: bytes, filename: str) -> tuple[list[tuple[int, list[str]]], str]:
    text, _ = decode_bytes(data, filename)
    if not text.strip():
        raise BadInputError("the file is empty", file=filename)
    sample = "\n".join(text.splitlines()[:40])
    delimiter = max([",", ";", "\t"], key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(reader.line_num, [c.strip() for c in rec]) for rec in reader], delimiter


def _number(text: str, comma: bool) -> float:
    _, value = units.parse_value(text, comma_decimal=comma)
    return value


def _read_well_table(data: bytes, filename: str, mapping: dict[str, str] | None, *, need_signal: bool,
                     label: str = "") -> tuple[list[dict], list[RowError], list[str]]:
    """Rows of a long-format well table as dicts of parsed fields (signal optional for plate maps)."""
    rows, delimiter = _csv_rows(data, filename)
    rows = [(n, r) for n, r in rows if any(r)]
    if not rows or sum(1 for c in rows[0][1] if c) < 2:
        raise BadInputError("the header line has a single column; expected columns separated by "
                            "commas, semicolons or tabs", file=filename, row=1)
    columns, header_unit, unmapped = _header_columns(rows[0][1], mapping)
    required = ["well", "well_type"] + (["signal"] if need_signal else [])
    missing = [c for c in required if c not in columns]
    if missing:
        raise BadInputError(f"required column(s) {', '.join(missing)} not found; columns are: "
                            + ", ".join(rows[0][1]) + " (map other headers with --mapping)", file=filename, row=1)
    if len(rows) == 1:
        raise BadInputError("the file has a header but no data rows", file=filename, row=1)
    comma = delimiter == ";"
    out, errors = [], []
    for line, cells in rows[1:]:
        raw = dict(zip(columns, cells + [""] * (len(columns) - len(cells))))
        errs: list[RowError] = []

        def bad(col: str, reason: str) -> None:
            errs.append(RowError(line, label + col, raw.get(col, ""), reason))

        rec: dict = {"line": line, **{k: raw.get(k, "") for k in ("plate_id", "compound_id", "smiles",
                                                                   "assay_id", "read_time", "operator")}}
        try:
            rec["row"], rec["col"] = parse_well(raw.get("well", ""))
        except ValueError as exc:
            bad("well", f"unknown well: {exc}")
        wtype = _TYPES.get(_key(raw.get("well_type", "")))
        if wtype is None:
            bad("well_type", "unknown well type (use sample, high control / neutral, low control / "
                             "inhibitor, or blank)")
        rec["well_type"] = wtype
        if need_signal:
            try:
                rec["signal"] = _number(raw.get("signal", ""), comma)
            except ValueError as exc:
                bad("signal", f"raw signal is not a number: {exc}")
        if wtype == "sample":
            if raw.get("compound_id", "").lower() in MISSING:
                bad("compound_id", "a sample well needs a compound id")
            conc_text, unit = raw.get("concentration", ""), raw.get("conc_units", "") or header_unit
            if conc_text.lower() in MISSING:
                bad("concentration", "a sample well needs its concentration")
            else:
                try:
                    conc = _number(conc_text, comma)
                    if conc <= 0:
                        bad("concentration", f"concentration must be > 0, got {conc:g}")
                    elif not unit:
                        bad("concentration", "no concentration unit (add a units column or write it in "
                                             "the header, e.g. 'Conc (uM)')")
                    else:
                        rec["conc_nm"] = units.to_nm(conc, unit)
                except ValueError as exc:
                    bad("concentration", str(exc))
        if errs:
            errors.extend(errs)
        else:
            out.append(rec)
    return out, errors, unmapped


def read_long_format(data: bytes, filename: str, mapping: dict[str, str] | None = None) -> PlateRead:
    """Read a well-level export (one row per well)."""
    recs, errors, unmapped = _read_well_table(data, filename, mapping, need_signal=True)
    stem = filename.rsplit(".", 1)[0]
    wells = [WellRecord(plate_id=r["plate_id"] or stem, well=well_name(r["row"], r["col"]), row=r["row"],
                        col=r["col"], well_type=r["well_type"], signal=r["signal"], source_row=r["line"],
                        compound_id=r["compound_id"], smiles=r["smiles"], conc_nm=r.get("conc_nm"),
                        assay_id=r["assay_id"], read_time=r["read_time"], operator=r["operator"])
             for r in recs]
    notes = ["ignored columns: " + ", ".join(unmapped)] if unmapped else []
    return PlateRead("long", wells, errors, notes, n_rows=len(recs) + len({e.row for e in errors}))


def _is_grid_header(cells: list[str]) -> int:
    nums = [c for c in cells[1:] if c]
    for n in (12, 24):
        if nums == [str(i) for i in range(1, n + 1)] or nums == [f"{i:02d}" for i in range(1, n + 1)]:
            return n
    return 0


def _plate_name(line_cells: list[str]) -> str:
    text = " ".join(c for c in line_cells if c)
    m = re.search(r"plate(?:\s*(?:id|name|barcode))?\s*[:=,]?\s*(\S+)", text, re.IGNORECASE)
    return m.group(1).strip(",;:") if m else ""


def has_grid(data: bytes, filename: str) -> bool:
    """Whether the file holds a signal grid header (a row 1..12 or 1..24)."""
    rows, _ = _csv_rows(data, filename)
    return any(_is_grid_header(cells) for _, cells in rows)


def read_grids(data: bytes, filename: str) -> tuple[list[tuple[str, int, list[tuple[int, int, int, str]]]], str]:
    """Find the signal grids in a reader export.

    Returns ``[(plate id, n_wells, [(line, row, col, cell text), ...]), ...]`` and the delimiter.
    Raises BadInputError when no complete 8 x 12 or 16 x 24 grid is found.
    """
    rows, delimiter = _csv_rows(data, filename)
    stem = filename.rsplit(".", 1)[0]
    grids, i, last_name = [], 0, ""
    while i < len(rows):
        line, cells = rows[i]
        n_cols = _is_grid_header(cells)
        if not n_cols:
            last_name = _plate_name(cells) or last_name
            i += 1
            continue
        n_rows = 8 if n_cols == 12 else 16
        layout = layout_for_grid(n_rows, n_cols)
        body = rows[i + 1:i + 1 + n_rows]
        letters = [r[1][0].upper() if r[1] else "" for r in body]
        if letters != [chr(ord("A") + k) for k in range(n_rows)]:
            raise BadInputError(f"the grid starting on line {line} has {n_cols} columns but its rows are "
                                f"not A-{chr(ord('A') + n_rows - 1)} ({', '.join(letters) or 'none'}); a "
                                f"{layout.n_wells}-well grid needs {n_rows} rows", file=filename, row=line)
        cells_out = []
        for r, (bline, bcells) in enumerate(body):
            for c in range(n_cols):
                text = bcells[c + 1] if c + 1 < len(bcells) else ""
                cells_out.append((bline, r, c, text))
        name = last_name or (stem if not grids else f"{stem}-{len(grids) + 1}")
        if any(g[0] == name for g in grids):
            name = f"{name}-{len(grids) + 1}"
        grids.append((name, layout.n_wells, cells_out))
        last_name = ""
        i += 1 + n_rows
    if not grids:
        raise BadInputError("no plate grid found: expected a header row 1..12 or 1..24 followed by rows "
                            "A-H or A-P of signals (or give a well-level table with a 'well' column)",
                            file=filename)
    return grids, delimiter


def read_grid_format(data: bytes, filename: str, map_data: bytes, map_filename: str,
                     mapping: dict[str, str] | None = None) -> PlateRead:
    """Read signal grids plus a plate map (well type, compound, concentration per well)."""
    grids, delimiter = read_grids(data, filename)
    recs, map_errors, unmapped = _read_well_table(map_data, map_filename, mapping, need_signal=False,
                                                  label="plate map: ")
    by_plate: dict[str, dict[tuple[int, int], dict]] = {}
    for r in recs:
        by_plate.setdefault(r["plate_id"], {})[(r["row"], r["col"])] = r
    generic = by_plate.get("", {})
    wells, errors = [], list(map_errors)
    used_map_keys: set[tuple[str, int, int]] = set()
    for plate_id, n_wells, cells in grids:
        plate_map = {**generic, **by_plate.get(plate_id, {})}
        for line, r, c, text in cells:
            entry = plate_map.get((r, c))
            if entry is None or not text:
                continue
            used_map_keys.add((entry["plate_id"], r, c))
            try:
                signal = _number(text, delimiter == ";")
            except ValueError as exc:
                errors.append(RowError(line, well_name(r, c), text, f"raw signal of {plate_id} "
                                       f"{well_name(r, c)} is not a number: {exc}"))
                continue
            wells.append(WellRecord(plate_id=plate_id, well=well_name(r, c), row=r, col=c,
                                    well_type=entry["well_type"], signal=signal, source_row=line,
                                    compound_id=entry["compound_id"], smiles=entry["smiles"],
                                    conc_nm=entry.get("conc_nm"), assay_id=entry["assay_id"],
                                    read_time=entry["read_time"], operator=entry["operator"]))
    for r in recs:
        if (r["plate_id"], r["row"], r["col"]) not in used_map_keys:
            pid = r["plate_id"] or "any plate"
            errors.append(RowError(r["line"], "plate map: well", well_name(r["row"], r["col"]),
                                   f"the plate map names well {well_name(r['row'], r['col'])} of {pid} but "
                                   "the grid has no signal there (or no plate with that id)"))
    notes = [f"{len(grids)} plate grid(s): " + ", ".join(f"{g[0]} ({g[1]} wells)" for g in grids)]
    if unmapped:
        notes.append("ignored plate map columns: " + ", ".join(unmapped))
    return PlateRead("grid", wells, errors, notes, layouts={g[0]: g[1] for g in grids},
                     n_rows=len(recs) + len({e.row for e in map_errors}))
