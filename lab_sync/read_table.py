"""Read an assay file's bytes into rows of strings with their file line numbers.

Accepts UTF-8 (with or without BOM) and Latin-1, CRLF or LF line ends, comma,
semicolon or tab delimiters, quoted fields. Every value stays a string here
(Excel strips leading zeros from ids that were read as numbers; we never do).
Header spellings are mapped to MolTwin's canonical column names
(:mod:`lab_sync.header_vocabulary`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from lab_sync.header_vocabulary import HEADER_ALIASES, LOOKUP, norm_header  # noqa: F401
from moltwin.errors import BadInputError

MAX_BYTES = 200 * 1024 * 1024


def _norm(header: str) -> str:
    return norm_header(header)


_LOOKUP = LOOKUP


@dataclass(slots=True)
class RawTable:
    """Decoded file: canonical column names, rows of strings, their 1-based file line numbers."""

    columns: list[str]
    rows: list[dict[str, str]]
    line_numbers: list[int]
    delimiter: str
    encoding: str
    unmapped_columns: list[str]
    headers: list[str] = field(default_factory=list)  # as written in the file


def _utf16_encoding(data: bytes) -> str | None:
    """UTF-16 (Excel's "Unicode text"): by its byte-order mark, or by the NUL byte in every
    other position that ASCII text has in UTF-16 without one."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head.count(b"\x00") * 2 >= len(head) * 0.9:
        if head[1::2].count(0) >= len(head[1::2]) * 0.9:
            return "utf-16-le"
        if head[0::2].count(0) >= len(head[0::2]) * 0.9:
            return "utf-16-be"
    return None


def detect_delimiter(first_line: str, filename: str) -> str:
    delimiter = max([",", ";", "\t"], key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise BadInputError(f"the header line has a single column ('{first_line[:60]}'); expected "
                            "columns separated by commas, semicolons or tabs", file=filename, row=1)
    return delimiter


def decode_bytes(data: bytes, filename: str) -> tuple[str, str]:
    utf16 = _utf16_encoding(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError as exc:
            raise BadInputError(f"the file looks like UTF-16 text but byte {exc.start} cannot be "
                                "decoded; save it again as UTF-8 CSV", file=filename) from None
    if b"\x00" in data[:4096]:
        raise BadInputError("this is a binary file, not a CSV text file (export it as CSV from your "
                            "spreadsheet or instrument software)", file=filename)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise BadInputError("cannot decode the file as UTF-8 or Latin-1", file=filename)  # pragma: no cover


def read_assay_table(data: bytes, filename: str, mapping: dict[str, str] | None = None) -> RawTable:
    """Parse an assay file's bytes.

    Parameters
    ----------
    data
        The raw file content.
    filename
        Name shown in error messages (never used as a path).
    mapping
        Optional explicit ``{file header: canonical column}`` mapping, applied before aliases.
    """
    if len(data) > MAX_BYTES:
        raise BadInputError(f"file is {len(data) / 1e6:.0f} MB; the upload limit is "
                            f"{MAX_BYTES / 1e6:.0f} MB (split it into several files)", file=filename)
    text, encoding = decode_bytes(data, filename)
    if not text.strip():
        raise BadInputError("the file is empty", file=filename)
    delimiter = detect_delimiter(text.splitlines()[0], filename)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    done = [0]  # the last line read whole
    try:
        return _read_rows(reader, filename, mapping, delimiter, encoding, done)
    except csv.Error as exc:
        # e.g. a field larger than csv.field_size_limit(): an unclosed quote swallowing the file
        line = done[0] + 1
        raise BadInputError(f"line {line}: the file cannot be split into fields ({exc}); a "
                            "field this long usually means an unclosed quote (\")",
                            file=filename, row=line) from None


def map_header(header: list[str], mapping: dict[str, str] | None) -> tuple[list[str], list[str]]:
    """``(canonical columns, unmapped headers)``; unmapped ones become ``_extra:<header>``."""
    explicit = {_norm(k): v for k, v in (mapping or {}).items()}
    columns, unmapped, seen = [], [], set()
    for h in header:
        key = _norm(h)
        # An explicit "" keeps a header out of the table even where its name is a known alias.
        canon = (explicit[key] if key in explicit else _LOOKUP.get(key)) or None
        if canon is None or canon in seen:
            unmapped.append(h)
            canon = f"_extra:{h}"
        seen.add(canon)
        columns.append(canon)
    return columns, unmapped


def row_of(record: list[str], columns: list[str]) -> dict[str, str] | None:
    """One record as ``{column: stripped text}``; None for a blank line."""
    if not any(cell.strip() for cell in record):
        return None
    row = {c: v.strip() for c, v in zip(columns, record + [""] * (len(columns) - len(record)))}
    if len(record) > len(columns):
        row["_too_many_cells"] = f"{len(record)} cells for {len(columns)} header columns"
    return row


def _read_rows(reader, filename: str, mapping: dict[str, str] | None, delimiter: str,
               encoding: str, done: list[int]) -> RawTable:
    header = next(reader)
    done[0] = reader.line_num
    columns, unmapped = map_header(header, mapping)
    rows, lines = [], []
    for record in reader:
        line = done[0] = reader.line_num
        row = row_of(record, columns)
        if row is None:
            continue
        rows.append(row)
        lines.append(line)
    if not rows:
        raise BadInputError("the file has a header but no data rows", file=filename, row=1)
    return RawTable(columns, rows, lines, delimiter, encoding, unmapped, [h.strip() for h in header])
