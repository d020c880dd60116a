"""Filter, sort and page the compound table; substructure search with RDKit's SubstructLibrary.

A :class:`GridQuery` is what the chemist asked (from the page's form); :func:`run_query`
answers it over a table from :func:`ranking.compound_table.build_compound_table`.
Every refusal (an unknown column, an invalid or oversized SMARTS, a bound that is not a
number) is a :class:`moltwin.errors.BadInputError` whose message can be shown as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase
from rdkit.Chem import rdSubstructLibrary

from moltwin.errors import BadInputError
from ranking.compound_table import TABLE_COLUMNS

PAGE_SIZE = 50
#: Numeric columns a range filter may bound (name -> label shown on the page).
RANGE_COLUMNS = {"mw_da": "MW (Da)", "clogp": "cLogP", "tpsa_a2": "TPSA (Å²)", "heavy_atoms": "heavy atoms",
                 "measured_p_activity": "measured pActivity", "pred_p_activity": "predicted pActivity",
                 "p_clear_gates": "p(clear gates)", "score": "score"}
#: A query longer than this, or with more atoms, is refused: such patterns are typos or pastes of
#: whole molecules that would tie up the server (matching cost grows with query size).
MAX_QUERY_CHARS = 300
MAX_QUERY_ATOMS = 60


@dataclass
class GridQuery:
    """One request for a page of the grid (every field optional)."""

    decision: str = ""
    stage: str = ""
    measured: str = ""  # "", "yes", "no"
    predicted: str = ""  # "", "yes", "no"
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    substructure: str = ""
    sort: str = "rank"
    descending: bool = False
    page: int = 1


@dataclass
class GridPage:
    rows: pd.DataFrame
    n_matching: int
    n_total: int
    page: int
    n_pages: int


def parse_bound(text: str, label: str) -> float | None:
    """A range bound from a form field ("" -> None)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadInputError(f"{label}: '{text[:40]}' is not a number") from None
    if not math.isfinite(value):
        raise BadInputError(f"{label}: '{text[:40]}' is not a finite number")
    return value


def parse_substructure(text: str) -> Chem.Mol:
    """A query molecule from SMILES (aromaticity perceived) or, failing that, SMARTS (:class:`BadInputError`)."""
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise BadInputError(f"The substructure query has {len(text)} characters; the limit is "
                            f"{MAX_QUERY_CHARS}. Search for a smaller part of the molecule.")
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text)
        # A SMILES is searched as the SMARTS RDKit writes for it: aromaticity perceived (a Kekule
        # benzene finds aromatic rings) and bracket atoms such as [#6] kept as queries, not as
        # "carbon with no hydrogen".
        query = Chem.MolFromSmarts(Chem.MolToSmarts(mol)) if mol is not None else Chem.MolFromSmarts(text)
    if query is None or query.GetNumAtoms() == 0:
        raise BadInputError(f"'{text[:80]}' is neither a valid SMILES nor a valid SMARTS.")
    if query.GetNumAtoms() > MAX_QUERY_ATOMS:
        raise BadInputError(f"The substructure query has {query.GetNumAtoms()} atoms; the limit is "
                            f"{MAX_QUERY_ATOMS}. Search for a smaller part of the molecule.")
    return query


def build_substructure_library(smiles: list[str]) -> rdSubstructLibrary.SubstructLibrary:
    """A pattern-fingerprint-screened library over canonical SMILES (row i = table row i)."""
    mols = rdSubstructLibrary.CachedTrustedSmilesMolHolder()
    fps = rdSubstructLibrary.PatternHolder()
    with rdBase.BlockLogs():
        for smi in smiles:
            mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) else None
            mols.AddSmiles(smi if mol is not None else "")
            fps.AddFingerprint(fps.MakeFingerprint(mol if mol is not None else Chem.Mol()))
    return rdSubstructLibrary.SubstructLibrary(mols, fps)


def substructure_rows(library: rdSubstructLibrary.SubstructLibrary, query: Chem.Mol) -> np.ndarray:
    """Sorted row indices of the library's molecules containing ``query``."""
    n = len(library)
    if n == 0:
        return np.zeros(0, dtype=int)
    with rdBase.BlockLogs():
        hits = library.GetMatches(query, numThreads=1, maxResults=n)
    return np.sort(np.fromiter(hits, dtype=int, count=len(hits)))


def _mask(table: pd.DataFrame, q: GridQuery) -> np.ndarray:
    mask = np.ones(len(table), dtype=bool)
    if q.decision:
        mask &= (table["decision"] == q.decision).to_numpy()
    if q.stage:
        mask &= (table["stage"] == q.stage).to_numpy()
    if q.measured:
        has = table["measured_p_activity"].notna().to_numpy()
        mask &= has if q.measured == "yes" else ~has
    if q.predicted:
        has = table["pred_p_activity"].notna().to_numpy()
        mask &= has if q.predicted == "yes" else ~has
    for col, (low, high) in q.ranges.items():
        if col not in RANGE_COLUMNS:
            raise BadInputError(f"'{col}' cannot be filtered by range")
        values = table[col].to_numpy(float)
        if low is not None:
            mask &= values >= low
        if high is not None:
            mask &= values <= high
    return mask


def run_query(table: pd.DataFrame, q: GridQuery, library=None, page_size: int = PAGE_SIZE) -> GridPage:
    """The rows of page ``q.page`` matching ``q``, sorted by ``q.sort`` (missing values last).

    ``library`` is the table's substructure library (needed only when ``q.substructure`` is set).
    """
    if q.sort not in TABLE_COLUMNS:
        raise BadInputError(f"cannot sort by '{q.sort[:40]}': not a column of the grid")
    mask = _mask(table, q)
    if q.substructure.strip():
        hits = substructure_rows(library, parse_substructure(q.substructure))
        sub = np.zeros(len(table), dtype=bool)
        sub[hits] = True
        mask &= sub
    selected = table[mask]
    column = selected[q.sort]
    if column.dtype == object:
        column = column.astype(str)
    order = column.sort_values(ascending=not q.descending, na_position="last", kind="stable").index
    n = len(selected)
    n_pages = max(1, -(-n // page_size))
    page = min(max(1, q.page), n_pages)
    rows = selected.loc[order[(page - 1) * page_size: page * page_size]]
    return GridPage(rows=rows, n_matching=n, n_total=len(table), page=page, n_pages=n_pages)


def selection(table: pd.DataFrame, q: GridQuery, library=None) -> pd.DataFrame:
    """Every row matching ``q`` in its sort order (for export)."""
    page = run_query(table, GridQuery(**{**q.__dict__, "page": 1}), library, page_size=max(1, len(table)))
    return page.rows
