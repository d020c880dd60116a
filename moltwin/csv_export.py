"""CSV files that are safe to open in a spreadsheet (OWASP's CSV-injection rule).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets: a compound id ``=HYPERLINK(...)`` or
``=CMD|...`` in an uploaded file would execute on whoever opens the exported ranking. Such
cells are written with a leading apostrophe (the spreadsheet then shows the text as typed).
Only *text* cells are touched: numeric columns (a pActivity of -1.5) are written as numbers,
and the stored values (database, Parquet) are never changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where it is used: the CLI's --help must stay instant
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """``value`` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are neutralised; numeric columns are left alone."""
    import pandas as pd

    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            continue
        out[column] = series.map(neutralise_cell, na_action="ignore")
    return out


def write_safe_csv(df: pd.DataFrame, path_or_handle, **to_csv_kw) -> None:
    """``df.to_csv`` (no index by default) after :func:`neutralise_frame`."""
    to_csv_kw.setdefault("index", False)
    if isinstance(path_or_handle, (str, Path)):
        Path(path_or_handle).parent.mkdir(parents=True, exist_ok=True)
    neutralise_frame(df).to_csv(path_or_handle, **to_csv_kw)
