"""Read an assay file row by row from disk, so checking a large file does not hold it in memory.

:func:`open_assay_stream` reads the header and a sample of rows (what the column checks
need) and :meth:`AssayStream.rows` then streams every row with its file line number. The
rules are those of :func:`lab_sync.read_table.read_assay_table` (encodings, delimiters,
header vocabulary, errors); only the memory differs: a buffer, not the whole file.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab_sync.read_table import (MAX_BYTES, _utf16_encoding, detect_delimiter, map_header,
                                 row_of)
from moltwin.errors import BadInputError

SAMPLE_ROWS = 200
_CHUNK = 1 << 20


def _encoding_of(path: Path, head: bytes, filename: str) -> str:
    utf16 = _utf16_encoding(head)
    if utf16:
        return "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else utf16
    if b"\x00" in head[:4096]:
        raise BadInputError("this is a binary file, not a CSV text file (export it as CSV from your "
                            "spreadsheet or instrument software)", file=filename)
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as raw:  # one pass, a chunk at a time: is it all valid UTF-8?
        try:
            while chunk := raw.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


@dataclass(slots=True)
class AssayStream:
    """The header of an assay file, a sample of its rows, and a way to stream them all."""

    path: Path
    filename: str
    encoding: str
    delimiter: str
    columns: list[str]
    headers: list[str]
    unmapped_columns: list[str]
    sample: list[dict[str, str]] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[dict[str, str], int]]:
        """Every non-blank row with its 1-based file line number, read from disk."""
        with open(self.path, encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            done = 1
            try:
                next(reader)
                for record in reader:
                    done = reader.line_num
                    row = row_of(record, self.columns)
                    if row is not None:
                        yield row, done
            except csv.Error as exc:
                raise BadInputError(f"line {done + 1}: the file cannot be split into fields ({exc}); "
                                    "a field this long usually means an unclosed quote (\")",
                                    file=self.filename, row=done + 1) from None


def open_assay_stream(path: Path, filename: str, mapping: dict[str, str] | None = None
                      ) -> AssayStream:
    """Check the file's size, encoding and header, and read a sample of rows.

    Raises
    ------
    BadInputError
        For a file that is too large, binary, empty, header-only or has a single column.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise BadInputError(f"file is {size / 1e6:.0f} MB; the upload limit is "
                            f"{MAX_BYTES / 1e6:.0f} MB (split it into several files)", file=filename)
    with open(path, "rb") as raw:
        head = raw.read(64 * 1024)
    encoding = _encoding_of(path, head, filename)
    with open(path, encoding=encoding, newline="") as handle:
        first_line = handle.readline()
        if not first_line.strip() and not any(line.strip() for line in handle):
            raise BadInputError("the file is empty", file=filename)
    first_line = (first_line.splitlines() or [""])[0]
    delimiter = detect_delimiter(first_line, filename)
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise BadInputError(f"line 1: the header cannot be split into fields ({exc})",
                                file=filename, row=1) from None
    columns, unmapped = map_header(header, mapping)
    stream = AssayStream(path, filename, encoding, delimiter, columns, [h.strip() for h in header],
                         unmapped)
    rows = stream.rows()
    for row, _ in rows:
        stream.sample.append(row)
        if len(stream.sample) >= SAMPLE_ROWS:
            break
    rows.close()
    if not stream.sample:
        raise BadInputError("the file has a header but no data rows", file=filename, row=1)
    return stream
