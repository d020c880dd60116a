"""Read molecule files in batches (writers live in :mod:`chem.sinks`).

Readers stream ``pandas.DataFrame`` batches with the columns
``compound_id, smiles, input_line`` (plus requested extra columns), where
``input_line`` is the 1-based line (SMILES, CSV) or record number (SDF) that a
chemist can look up. Readers do not parse SMILES: standardization does that once.
An empty file or missing columns raise :class:`moltwin.errors.BadInputError`.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from moltwin.errors import BadInputError

READ_COLUMNS = ["compound_id", "smiles", "input_line"]
SMILES_SUFFIXES = {".smi", ".smiles", ".ism", ".can"}
SDF_SUFFIXES = {".sdf", ".sd", ".mol"}
CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix.lower() == ".gz" else open(path)


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise BadInputError("file not found", file=str(path))


def read_smiles_file(path: str | Path, *, batch_size: int = 1000) -> Iterator[pd.DataFrame]:
    """Stream a SMILES file (``SMILES [id]`` per line, space or tab separated).

    Blank lines and ``#`` comments are skipped; a first line whose first token is
    ``smiles`` is taken as a header. Lines without an id get ``<file stem>_<line>``.

    Parameters
    ----------
    path
        ``.smi`` file (optionally gzipped).
    batch_size
        Rows per yielded DataFrame.

    Yields
    ------
    pandas.DataFrame
        Columns ``compound_id, smiles, input_line``.

    Raises
    ------
    BadInputError
        The file is missing or holds no molecules.
    """
    path = Path(path)
    _require_file(path)
    stem = path.name.split(".")[0]
    rows: list[tuple[str, str, int]] = []
    n_total = 0
    with _open_text(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            parts = text.split(maxsplit=1)
            if n_total == 0 and not rows and parts[0].lower() == "smiles":
                continue  # header line
            compound_id = parts[1].strip() if len(parts) > 1 else f"{stem}_{line_no}"
            rows.append((compound_id, parts[0], line_no))
            if len(rows) >= batch_size:
                n_total += len(rows)
                yield pd.DataFrame(rows, columns=READ_COLUMNS)
                rows = []
    if rows:
        n_total += len(rows)
        yield pd.DataFrame(rows, columns=READ_COLUMNS)
    if n_total == 0:
        raise BadInputError("no molecules in file (it is empty)", file=str(path))


def read_sdf(path: str | Path, *, id_property: str | None = None,
             properties: Sequence[str] = (), batch_size: int = 1000) -> Iterator[pd.DataFrame]:
    """Stream an SD file as SMILES records.

    Stereochemistry is taken from the record (3D coordinates or wedges). A record
    that RDKit cannot read yields a row with ``smiles=None`` so the standardizer
    reports it (reason ``unreadable_record``) with its record number.

    Parameters
    ----------
    path
        ``.sdf`` file (optionally gzipped).
    id_property
        SD tag holding the compound id; default is the title line, then
        ``<file stem>_<record>``.
    properties
        SD tags copied into columns of the same name (missing -> None).
    batch_size
        Rows per yielded DataFrame.

    Yields
    ------
    pandas.DataFrame
        Columns ``compound_id, smiles, input_line`` (= record number) and ``properties``.
    """
    from rdkit import Chem, rdBase

    path = Path(path)
    _require_file(path)
    stem = path.name.split(".")[0]
    columns = READ_COLUMNS + list(properties)
    rows: list[list] = []
    n_total = 0
    with (gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")) as fh:
        supplier = Chem.ForwardSDMolSupplier(fh, removeHs=False)
        record = 0
        while True:
            with rdBase.BlockLogs():  # a bad record becomes a row, not console noise
                try:
                    mol = next(supplier)
                except StopIteration:
                    break
            record += 1
            if mol is None:
                rows.append([f"{stem}_{record}", None, record] + [None] * len(properties))
            else:
                name = mol.GetProp(id_property) if id_property and mol.HasProp(id_property) \
                    else mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
                smiles = Chem.MolToSmiles(Chem.RemoveHs(mol, sanitize=False))
                rows.append([name or f"{stem}_{record}", smiles, record]
                            + [mol.GetProp(p) if mol.HasProp(p) else None for p in properties])
            if len(rows) >= batch_size:
                n_total += len(rows)
                yield pd.DataFrame(rows, columns=columns)
                rows = []
    if rows:
        n_total += len(rows)
        yield pd.DataFrame(rows, columns=columns)
    if n_total == 0:
        raise BadInputError("no molecules in file (it is empty)", file=str(path))


def read_csv_molecules(path: str | Path, *, smiles_column: str = "smiles",
                       id_column: str | None = "compound_id", extra_columns: Sequence[str] = (),
                       sep: str | None = None, batch_size: int = 1000) -> Iterator[pd.DataFrame]:
    """Stream a CSV/TSV table of molecules.

    ``input_line`` is the file line of each row (header = line 1), assuming no
    quoted multi-line cells. Rows without an id get ``<file stem>_<line>``.

    Parameters
    ----------
    path
        CSV (``,``) or TSV (``\\t``, chosen by suffix unless ``sep`` is given).
    smiles_column, id_column
        Column names; ``id_column=None`` generates ids from line numbers.
    extra_columns
        Further columns copied as they are.
    sep
        Field separator; default from the suffix.
    batch_size
        Rows per yielded DataFrame.

    Raises
    ------
    BadInputError
        Empty file, no data rows, or a named column is missing (row 1 = header).
    """
    path = Path(path)
    _require_file(path)
    stem = path.name.split(".")[0]
    if sep is None:
        sep = "\t" if _suffix(path) == ".tsv" else ","
    wanted = [smiles_column] + ([id_column] if id_column else []) + list(extra_columns)
    try:
        reader = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                             chunksize=batch_size, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise BadInputError("file is empty", file=str(path)) from None
    n_total = 0
    with reader:
        for chunk in reader:
            missing = [c for c in wanted if c not in chunk.columns]
            if missing:
                raise BadInputError(
                    f"missing column(s) {missing}; the header has {list(chunk.columns)}",
                    file=str(path), row=1, field=missing[0])
            chunk = chunk.fillna("")  # blank lines are kept as empty rows so numbering holds
            lines = chunk.index.to_numpy() + 2  # +1 for 1-based, +1 for the header line
            # Fully blank lines are skipped; a row with an id but no SMILES is kept so that
            # standardization reports it (empty_molecule) with its line number.
            keep = (chunk[wanted].apply(lambda col: col.str.strip()) != "").any(axis=1)
            if id_column:
                ids = chunk[id_column].str.strip()
            else:
                ids = pd.Series([""] * len(chunk), index=chunk.index)
            ids = ids.where(ids != "", [f"{stem}_{n}" for n in lines])
            out = pd.DataFrame({"compound_id": ids, "smiles": chunk[smiles_column].str.strip(),
                                "input_line": lines})
            for col in extra_columns:
                out[col] = chunk[col]
            out = out[keep.to_numpy()].reset_index(drop=True)
            n_total += len(out)
            if len(out):
                yield out
    if n_total == 0:
        raise BadInputError("no molecules in file (no data rows)", file=str(path))


# Columns that standardization or filtering compute again: never carried from an input table.
DERIVED_COLUMNS = frozenset({"input_line", "inchikey", "input_smiles", "standardization",
                             "rejected_by", "reasons",
                             "morgan_fp", "max_tanimoto_known", "mw_da", "clogp", "tpsa_a2", "hbd",
                             "hba", "rotatable_bonds", "heavy_atoms", "formal_charge", "qed",
                             "sa_score"})


def read_parquet_molecules(path: str | Path, *, smiles_column: str = "smiles",
                           id_column: str = "compound_id",
                           extra_columns: Sequence[str] | None = None,
                           batch_size: int = 1000) -> Iterator[pd.DataFrame]:
    """Stream a Parquet table of molecules (e.g. the output of ``moltwin generate``).

    ``input_line`` is the 1-based row number. ``extra_columns=None`` carries every other
    column (``origin``, ``provenance`` ...) except those the pipeline computes again
    (:data:`DERIVED_COLUMNS`). Missing columns raise :class:`BadInputError` naming the column.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    _require_file(path)
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet files
        raise BadInputError(f"not a readable Parquet file ({exc})", file=str(path)) from None
    names = handle.schema_arrow.names
    if extra_columns is None:
        extra_columns = [c for c in names if c not in DERIVED_COLUMNS
                         and c not in (smiles_column, id_column, "compound_id", "smiles")]
    missing = [c for c in [smiles_column, id_column, *extra_columns] if c not in names]
    if missing:
        raise BadInputError(f"missing column(s) {missing}; the table has {names}",
                            file=str(path), field=missing[0])
    start = 1
    for batch in handle.iter_batches(batch_size=batch_size,
                                     columns=[id_column, smiles_column, *extra_columns]):
        frame = batch.to_pandas()
        out = pd.DataFrame({"compound_id": frame[id_column], "smiles": frame[smiles_column],
                            "input_line": range(start, start + len(frame))})
        for col in extra_columns:
            out[col] = frame[col]
        start += len(frame)
        yield out
    if start == 1:
        raise BadInputError("no molecules in file (no rows)", file=str(path))


def read_molecules(path: str | Path, **options) -> Iterator[pd.DataFrame]:
    """Stream any supported molecule file, chosen by suffix (.smi, .sdf, .csv, .tsv, .parquet).

    ``options`` go to :func:`read_smiles_file`, :func:`read_sdf`,
    :func:`read_csv_molecules` or :func:`read_parquet_molecules`.
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix in SMILES_SUFFIXES:
        return read_smiles_file(path, **options)
    if suffix in SDF_SUFFIXES:
        return read_sdf(path, **options)
    if suffix in CSV_SUFFIXES:
        return read_csv_molecules(path, **options)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet_molecules(path, **options)
    raise BadInputError(f"unknown molecule file type '{suffix}' (use .smi, .sdf, .csv, .tsv "
                        "or .parquet)", file=str(path))


def reader_options(path: str | Path, *, smiles_column: str | None = None,
                   id_column: str | None = None) -> dict:
    """Reader keywords for column names given on a command line, by file type.

    Tables (CSV/TSV/Parquet) take both; an SD file takes ``id_column`` as the SD tag of
    the id; a SMILES file takes neither (giving one raises :class:`BadInputError`).
    """
    suffix = _suffix(Path(path))
    options: dict = {}
    if suffix in CSV_SUFFIXES | PARQUET_SUFFIXES:
        if smiles_column:
            options["smiles_column"] = smiles_column
        if id_column:
            options["id_column"] = id_column
    elif suffix in SDF_SUFFIXES:
        if smiles_column:
            raise BadInputError("an SD file has no SMILES column", file=str(path),
                                field="smiles_column")
        if id_column:
            options["id_property"] = id_column
    elif smiles_column or id_column:
        raise BadInputError("a SMILES file has no named columns (SMILES then id per line)",
                            file=str(path), field="smiles_column" if smiles_column else "id_column")
    return options


def read_all_molecules(path: str | Path, **options) -> pd.DataFrame:
    """A whole (small) molecule file as one table, first row of each id kept.

    For reference sets (series, known compounds); large inputs should be streamed
    with :func:`read_molecules`.
    """
    frames = list(read_molecules(path, **options))
    table = pd.concat(frames, ignore_index=True)
    return table.drop_duplicates("compound_id").reset_index(drop=True)
