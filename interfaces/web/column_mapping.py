"""The upload page's column-mapping step: how each header of a file is read, and the chemist's choice.

For every header of the checked file the page shows the column it is read as (by the header
vocabulary, or as the project's chemists chose before), a few of its values, and a select to
change it. Where a required column is missing, the select is pre-set to the guess of
:func:`lab_sync.header_vocabulary.propose_mapping` (shown as a guess, applied only when the chemist
checks again). The form names headers by their position; their text is read from the staged file
again on the server, never taken from the form.
"""

from __future__ import annotations

from pathlib import Path

from lab_sync.column_mappings import COLUMN_LABELS, automatic_column
from lab_sync.header_vocabulary import propose_mapping
from lab_sync.read_stream import open_assay_stream
from moltwin.errors import BadInputError

N_SAMPLES = 3
#: select options: value, label ("" keeps the column out of the table)
OPTIONS = [("", "not stored")] + list(COLUMN_LABELS.items())
_REQUIRED_OR_SAFETY = ("compound_id", "value", "endpoint", "qualifier", "units")


def effective(columns: list[str]) -> list[str]:
    """The canonical column each header is read as ("" for a column that is not stored)."""
    return ["" if c.startswith("_extra:") else c for c in columns]


def mapping_rows(path: Path, filename: str, mapping: dict[str, str] | None,
                 remembered: dict[str, str] | None = None,
                 choices: dict[int, str] | None = None) -> list[dict]:
    """One row per header: ``index, header, column, automatic, guess, selected, samples, remembered``.

    ``choices`` (header position -> column) pre-selects what a chemist chose on a refused form.
    """
    stream = open_assay_stream(path, filename, mapping)
    read_as = effective(stream.columns)
    have = set(read_as)
    missing = [c for c in _REQUIRED_OR_SAFETY
               if c not in have and not (c in {"value", "endpoint"} and "p_value" in have)]
    values = {h: [r.get(f"_extra:{h}", "") for r in stream.sample] for h in stream.unmapped_columns}
    guesses = propose_mapping(stream.unmapped_columns, values, missing) if missing else {}
    rows = []
    for i, (header, column) in enumerate(zip(stream.headers, read_as)):
        key = stream.columns[i]
        samples = [r.get(key, "") for r in stream.sample if r.get(key, "")][:N_SAMPLES]
        guess = guesses.get(header, "") if not column else ""
        selected = (choices or {}).get(i, column or guess)
        rows.append({"index": i, "header": header, "column": column, "automatic": automatic_column(header),
                     "guess": guess, "selected": selected, "samples": samples,
                     "remembered": bool(remembered) and header in (remembered or {})})
    return rows


def choices_from_form(fields: dict[str, str], headers: list[str]) -> tuple[dict[str, str], dict[int, str]]:
    """``({header: column}, {position: column})`` from the form's ``map_<position>`` selects.

    Raises
    ------
    BadInputError
        When the form does not name a column for every header (an old page for another file).
    """
    by_header, by_index = {}, {}
    for i, header in enumerate(headers):
        value = fields.get(f"map_{i}")
        if value is None:
            raise BadInputError("The column form does not match this file (an older page?). Check the file again.",
                                field="mapping")
        by_index[i] = value.strip()
        if header in by_header and by_header[header] != by_index[i]:
            raise BadInputError(f"The file has two columns named '{header[:80]}'; rename one of them in the "
                                "file and check it again.", field="mapping")
        by_header[header] = by_index[i]
    return by_header, by_index


def file_headers(path: Path, filename: str) -> list[str]:
    return open_assay_stream(path, filename).headers
