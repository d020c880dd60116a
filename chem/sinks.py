"""Table writers: whole tables (:func:`write_table`) and chunk by chunk (:class:`TableSink`).

A :class:`TableSink` writes ``.parquet`` (one row group per chunk, a fixed Arrow
schema taken from the first chunk), ``.csv`` (header once), ``.sdf`` (2D
coordinates, columns as SD tags) or ``.smi`` (``SMILES<tab>id``). It writes to a
hidden ``.partial`` file and moves it into place on :meth:`TableSink.close`, so a run
that stops on bad input leaves no half-written output behind.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from moltwin.errors import BadInputError
from moltwin.csv_export import write_safe_csv

log = logging.getLogger(__name__)

SINK_SUFFIXES = (".parquet", ".csv", ".sdf", ".smi")
# Known column types; anything else (ids, SMILES, extra input columns) is a string.
INT_COLUMNS = frozenset({"input_line", "hbd", "hba", "rotatable_bonds", "heavy_atoms",
                         "formal_charge", "n_in", "n_rejected", "n_out"})
FLOAT_COLUMNS = frozenset({"mw_da", "clogp", "tpsa_a2", "qed", "sa_score",
                           "max_tanimoto_known"})
BINARY_COLUMNS = frozenset({"morgan_fp"})


def arrow_schema(columns: list[str]):
    """Arrow schema of a result table: ints, floats and binary by name, strings otherwise.

    Fixing types by name (not by inference on the first chunk) keeps every chunk
    compatible: an all-empty extra column or a chunk with no rejections would
    otherwise infer ``null`` and break the next write.
    """
    import pyarrow as pa

    def kind(name: str):
        if name in INT_COLUMNS:
            return pa.int64()
        if name in FLOAT_COLUMNS:
            return pa.float64()
        if name in BINARY_COLUMNS:
            return pa.binary()
        return pa.string()

    return pa.schema([(c, kind(c)) for c in columns])


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Binary columns as hex for text formats (CSV, SD tags)."""
    binary = [c for c in df.columns if c in BINARY_COLUMNS]
    if not binary:
        return df
    df = df.copy()
    for col in binary:
        df[col] = [v.hex() if isinstance(v, bytes) else v for v in df[col]]
    return df


def _stringify_extras(df: pd.DataFrame) -> pd.DataFrame:
    """Non-typed, non-string values (e.g. numbers in an SD tag column) as strings."""
    out = df
    for col in df.columns:
        if col in INT_COLUMNS or col in FLOAT_COLUMNS or col in BINARY_COLUMNS:
            continue
        dtype = df[col].dtype
        if isinstance(dtype, pd.StringDtype):
            continue
        if dtype != object or any(v is not None and not isinstance(v, str) for v in df[col]):
            if out is df:
                out = df.copy()
            out[col] = [None if v is None or (isinstance(v, float) and v != v) else str(v)
                        for v in df[col]]
    return out


class TableSink:
    """Append DataFrames to one output file, chunk after chunk.

    Parameters
    ----------
    path
        Output file; the suffix picks the format (:data:`SINK_SUFFIXES`).

    Raises
    ------
    BadInputError
        Unknown suffix (raised on construction, before any work is done).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        if self.kind not in SINK_SUFFIXES:
            raise BadInputError(f"unknown output type '{self.kind}' (use "
                                f"{', '.join(SINK_SUFFIXES)})", file=str(self.path))
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self.columns: list[str] | None = None
        self.n_rows = 0
        self._writer = None
        self._handle = None

    def write(self, df: pd.DataFrame) -> None:
        """Append a chunk (columns are aligned with the first chunk's)."""
        if self.columns is None:
            self.columns = list(df.columns)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        elif not len(df):
            return
        df = df.reindex(columns=self.columns)
        getattr(self, f"_write_{self.kind[1:]}")(df)
        self.n_rows += len(df)

    def _open(self) -> None:
        if self.kind == ".parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.partial, arrow_schema(self.columns))
        elif self.kind == ".sdf":
            from rdkit import Chem

            self._writer = Chem.SDWriter(str(self.partial))
        else:
            self._handle = open(self.partial, "w", newline="")

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(_stringify_extras(df), schema=self._writer.schema,
                                     preserve_index=False)
        self._writer.write_table(table)

    def _write_csv(self, df: pd.DataFrame) -> None:
        write_safe_csv(_as_text(df), self._handle,
                       header=self.n_rows == 0 and self._handle.tell() == 0)

    def _write_smi(self, df: pd.DataFrame) -> None:
        ids = df["compound_id"] if "compound_id" in df.columns else range(len(df))
        self._handle.writelines(f"{smi}\t{cid}\n" for smi, cid in zip(df["smiles"], ids))

    def _write_sdf(self, df: pd.DataFrame) -> None:
        from rdkit import Chem
        from rdkit.Chem import rdDepictor

        tags = [c for c in df.columns if c != "smiles"]
        for rec in _as_text(df).to_dict("records"):
            mol = Chem.MolFromSmiles(str(rec["smiles"]))
            if mol is None:  # only standardized structures reach a sink
                continue
            rdDepictor.Compute2DCoords(mol)
            mol.SetProp("_Name", str(rec.get("compound_id", "")))
            for tag in tags:
                value = rec[tag]
                if value is not None and not (isinstance(value, float) and value != value):
                    mol.SetProp(tag, str(value))
            self._writer.write(mol)

    def close(self) -> Path:
        """Finish the file and move it into place; a sink never written gets no file."""
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()
        if self.columns is not None:
            os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the partial file (the run failed)."""
        for closable in (self._writer, self._handle):
            try:
                if closable is not None:
                    closable.close()
            except Exception:  # noqa: BLE001 - best effort while already failing
                pass
        self.partial.unlink(missing_ok=True)


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write one whole table through a :class:`TableSink` (any sink format)."""
    sink = TableSink(path)
    sink.write(df)
    return sink.close()


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to Parquet (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    return path


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to CSV without the index (parent folders are created)."""
    path = Path(path)
    write_safe_csv(df, path)  # text cells that a spreadsheet would run as formulas are quoted
    return path


def write_sdf(df: pd.DataFrame, path: str | Path, *, smiles_column: str = "smiles",
              id_column: str = "compound_id") -> int:
    """Write a table as an SD file with 2D coordinates; other columns become SD tags.

    Rows whose SMILES does not parse are skipped with a warning (they should have
    been removed by standardization).

    Returns
    -------
    int
        Number of records written.
    """
    from rdkit import Chem
    from rdkit.Chem import rdDepictor

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tags = [c for c in df.columns if c not in (smiles_column,)]
    n_written = 0
    with Chem.SDWriter(str(path)) as writer:
        for values in df.to_dict("records"):
            mol = Chem.MolFromSmiles(str(values[smiles_column]))
            if mol is None:
                log.warning("write_sdf: skipping unparsable SMILES for %s", values.get(id_column))
                continue
            rdDepictor.Compute2DCoords(mol)
            mol.SetProp("_Name", str(values.get(id_column, "")))
            for tag in tags:
                if values[tag] is not None and not (isinstance(values[tag], float)
                                                    and values[tag] != values[tag]):
                    mol.SetProp(tag, str(values[tag]))
            writer.write(mol)
            n_written += 1
    return n_written


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a table by suffix: ``.parquet``, ``.csv`` or ``.sdf``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return write_parquet(df, path)
    if suffix == ".csv":
        return write_csv(df, path)
    if suffix in (".sdf", ".sd", ".mol"):
        write_sdf(df, path)
        return path
    raise BadInputError(f"unknown table type '{suffix}' (use .parquet, .csv or .sdf)",
                        file=str(path))
