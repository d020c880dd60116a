"""Filter, sort and page the compound table; substructure search with RDKit's SubstructLibrary.

A :class:`GridQuery` is what the chemist asked (from the page's form); :func:`run_query`
answers it over a table from :func:`ranking.compound_table.build_compound_table`.
Every refusal (an unknown column, an invalid or oversized SMARTS, a bound that is not a
number) is a :class:`moltwin.errors.BadInputError` whose message can be shown as is.

A substructure query is matched in the page's sort order (the library's search order set to
the sorted, filtered rows) and stops once the requested page is filled, so a pattern found in
almost every compound (``[#6]``) does not match all 100 k of them before showing 50. The
matches are then counted for the rest of the order until :data:`COUNT_BUDGET_S` after the
query started; past it, the count is an estimate from the part counted (``GridPage.exact``
False, ``n_counted`` the lower bound). The rows shown are always exact.
"""

from __future__ import annotations

import math
import time
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
#: Seconds after a substructure query started past which its matches are no longer counted (the
#: count is estimated instead); the page's own rows are found first, whatever this is.
COUNT_BUDGET_S = 1.5
_COUNT_CHUNK = 5000


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
    """One page of answers.

    ``n_matching`` is exact when ``exact``; otherwise (a substructure query whose count ran out of
    time) it is an estimate, and ``n_counted`` matches are certain.
    """

    rows: pd.DataFrame
    n_matching: int
    n_total: int
    page: int
    n_pages: int
    exact: bool = True
    n_counted: int = 0


@dataclass
class OrderedHits:
    """Substructure matches in a given order: the first ``need`` and the count (exact or estimated)."""

    first: np.ndarray
    n_estimate: int
    n_counted: int
    exact: bool


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
    """Sorted row indices of the library's molecules containing ``query`` (all of them)."""
    n = len(library)
    if n == 0:
        return np.zeros(0, dtype=int)
    with rdBase.BlockLogs():
        hits = library.GetMatches(query, numThreads=1, maxResults=n)
    return np.sort(np.fromiter(hits, dtype=int, count=len(hits)))


def ordered_substructure_hits(library: rdSubstructLibrary.SubstructLibrary, query: Chem.Mol, order: np.ndarray,
                              need: int, deadline: float | None = None) -> OrderedHits:
    """The first ``need`` rows of ``order`` containing ``query`` (in that order), and how many rows match.

    Only rows listed in ``order`` are searched (a view of the library with that search order; the
    shared library is not changed, so concurrent requests are safe). After the first ``need`` are
    found, the rest of ``order`` is counted in chunks until ``time.perf_counter()`` passes
    ``deadline`` (``None``: count everything); the count is then extrapolated from the part counted.
    """
    order = np.asarray(order, dtype=np.int64)
    if len(order) == 0 or need <= 0:
        return OrderedHits(np.zeros(0, dtype=np.int64), 0, 0, True)
    view = rdSubstructLibrary.SubstructLibrary(library.GetMolHolder(), library.GetFpHolder())
    view.SetSearchOrder(order.tolist())
    with rdBase.BlockLogs():
        found = view.GetMatches(query, numThreads=1, maxResults=need)
    first = np.fromiter(found, dtype=np.int64, count=len(found))
    if len(first) < need:  # the whole order was searched
        return OrderedHits(first, len(first), len(first), True)
    where = np.empty(int(order.max()) + 1, dtype=np.int64)
    where[order] = np.arange(len(order))
    first = first[np.argsort(where[first], kind="stable")]
    searched = int(where[first[-1]]) + 1  # every row of order[:searched] is known: hit or not
    counted = len(first)
    with rdBase.BlockLogs():
        while searched < len(order) and (deadline is None or time.perf_counter() < deadline):
            end = min(searched + _COUNT_CHUNK, len(order))
            counted += len(view.GetMatches(query, searched, end, numThreads=1, maxResults=end - searched))
            searched = end
    if searched >= len(order):
        return OrderedHits(first, counted, counted, True)
    estimate = counted + round(counted / searched * (len(order) - searched))
    return OrderedHits(first, estimate, counted, False)


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


def run_query(table: pd.DataFrame, q: GridQuery, library=None, page_size: int = PAGE_SIZE,
              count_budget_s: float | None = COUNT_BUDGET_S) -> GridPage:
    """The rows of page ``q.page`` matching ``q``, sorted by ``q.sort`` (missing values last).

    ``library`` is the table's substructure library (needed only when ``q.substructure`` is set;
    its molecule i is the table's row i). ``count_budget_s`` bounds the time spent counting a
    substructure query's matches beyond the page (``None``: count them all, exactly).
    """
    started = time.perf_counter()
    if q.sort not in TABLE_COLUMNS:
        raise BadInputError(f"cannot sort by '{q.sort[:40]}': not a column of the grid")
    query = parse_substructure(q.substructure) if q.substructure.strip() else None
    positions = np.flatnonzero(_mask(table, q))
    column = table[q.sort].iloc[positions].reset_index(drop=True)
    if column.dtype == object:
        column = column.astype(str)
    order = positions[column.sort_values(ascending=not q.descending, na_position="last", kind="stable").index]
    exact, n_counted = True, 0
    if query is not None:
        deadline = None if count_budget_s is None else started + count_budget_s
        hits = ordered_substructure_hits(library, query, order, max(1, q.page) * page_size, deadline)
        order, n, exact, n_counted = hits.first, hits.n_estimate, hits.exact, hits.n_counted
    else:
        n = len(order)
    n_pages = max(1, -(-n // page_size))
    page = min(max(1, q.page), n_pages)
    rows = table.iloc[order[(page - 1) * page_size: page * page_size]]
    return GridPage(rows=rows, n_matching=n, n_total=len(table), page=page, n_pages=n_pages, exact=exact,
                    n_counted=n_counted if not exact else n)


def selection(table: pd.DataFrame, q: GridQuery, library=None) -> pd.DataFrame:
    """Every row matching ``q`` in its sort order (for export)."""
    page = run_query(table, GridQuery(**{**q.__dict__, "page": 1}), library, page_size=max(1, len(table)),
                     count_budget_s=None)
    return page.rows
