"""Substructure search in page order: the page's rows exact, the count exact or a marked estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, RDConfig

from ranking.compound_table import TABLE_COLUMNS
from ranking.grid_query import (GridQuery, build_substructure_library, ordered_substructure_hits, parse_substructure,
                                run_query, substructure_rows)


@pytest.fixture(scope="module")
def nci():
    """1,000 real NCI structures (RDKit's data folder) as a grid table, with its library."""
    lines = (RDConfig.RDDataDir + "/NCI/first_5K.smi")
    smiles = []
    for line in open(lines).read().splitlines():
        mol = Chem.MolFromSmiles(line.split()[0]) if line.strip() else None
        if mol is not None:
            smiles.append(Chem.MolToSmiles(mol))
        if len(smiles) == 1000:
            break
    rng = np.random.default_rng(7)
    table = pd.DataFrame({c: np.nan for c in TABLE_COLUMNS}, index=range(len(smiles)))
    table["compound_id"] = [f"N{i:04d}" for i in range(len(smiles))]
    table["smiles"] = smiles
    table["decision"] = rng.choice(["make", "test", "drop"], len(smiles))
    table["stage"] = ""
    table["rank"] = rng.permutation(len(smiles)) + 1
    table["mw_da"] = rng.uniform(100, 600, len(smiles))
    return table, build_substructure_library(smiles)


def _reference(table, library, q: GridQuery, page_size: int = 50) -> list[str]:
    """The page computed the slow way: every match, then filter, sort and slice in pandas."""
    hits = substructure_rows(library, parse_substructure(q.substructure))
    sub = table.iloc[hits]
    if q.decision:
        sub = sub[sub["decision"] == q.decision]
    sub = sub.sort_values(q.sort, ascending=not q.descending, na_position="last", kind="stable")
    page = min(q.page, max(1, -(-len(sub) // page_size)))  # a page past the end shows the last one
    return list(sub["compound_id"].iloc[(page - 1) * page_size: page * page_size])


@pytest.mark.parametrize("pattern", ["[#6]", "c1ccccc1", "[NX3;H2]c", "C(=O)O", "Cl"])
@pytest.mark.parametrize("page", [1, 3])
def test_page_rows_equal_matching_everything_then_sorting(nci, pattern, page):
    table, library = nci
    for q in (GridQuery(substructure=pattern, page=page),
              GridQuery(substructure=pattern, page=page, sort="mw_da", descending=True, decision="make")):
        fast = run_query(table, q, library, count_budget_s=0.0)  # no time to count beyond the page
        exact = run_query(table, q, library, count_budget_s=None)
        assert exact.exact and list(exact.rows["compound_id"]) == _reference(table, library, q)
        assert list(fast.rows["compound_id"]) == list(exact.rows["compound_id"])
        if fast.exact:
            assert fast.n_matching == exact.n_matching
        else:  # a lower bound that is certain, and an estimate of the whole
            assert exact.n_matching >= fast.n_counted >= page * 50
            assert fast.n_matching >= fast.n_counted


def test_count_is_exact_within_the_budget_and_estimated_past_it(nci):
    table, library = nci
    everything = run_query(table, GridQuery(substructure="[#6]"), library, count_budget_s=None)
    assert everything.exact and everything.n_matching == len(substructure_rows(library, parse_substructure("[#6]")))
    rushed = run_query(table, GridQuery(substructure="[#6]"), library, count_budget_s=0.0)
    assert not rushed.exact and rushed.n_counted == 50  # stopped as soon as the page was filled
    assert abs(rushed.n_matching - everything.n_matching) <= 0.1 * everything.n_matching
    rare = run_query(table, GridQuery(substructure="C(F)(F)F"), library, count_budget_s=0.0)
    assert rare.exact  # fewer matches than a page: the whole order was searched anyway


def test_search_order_view_leaves_the_shared_library_alone(nci):
    table, library = nci
    query = parse_substructure("c1ccccc1")
    order = np.arange(len(table))[::-1]
    hits = ordered_substructure_hits(library, query, order, 10)
    assert list(hits.first) == sorted(hits.first, reverse=True)  # in the order given
    assert len(library.GetMatches(query, numThreads=1, maxResults=5000)) == \
        len(substructure_rows(library, query))  # the library still searches everything


def test_grid_page_marks_an_estimated_count(tmp_path, nci):
    import hashlib

    from _web_client import make_web, sign_in, text_of

    table, _ = nci
    web = make_web(tmp_path)
    web.store.ensure_project("nci")
    web.store.register_compounds("nci", [{"compound_id": c, "smiles": s, "inchikey": hashlib.sha256(s.encode()).hexdigest()[:27].upper(),
                                          "origin": "library"} for c, s in zip(table["compound_id"][:300],
                                                                               table["smiles"][:300])])
    web.app.state.twin.extra["count_budget_s"] = 0.0
    with web.client() as client:
        sign_in(client, web, "vera")
        rushed = client.get("/projects/nci/compounds?substructure=%5B%236%5D")
        web.app.state.twin.extra["count_budget_s"] = None
        counted = client.get("/projects/nci/compounds?substructure=%5B%236%5D")
    assert rushed.status_code == counted.status_code == 200
    assert "≥ 50 of 300 compounds match (about" in text_of(rushed.text) and 'data-exact="no"' in rushed.text
    assert 'id="n-estimate"' not in counted.text and "of 300 compounds match" in text_of(counted.text)
    rows = lambda html: __import__("re").findall(r'<tr class="row" data-id="([^"]+)"', html)  # noqa: E731
    assert rows(rushed.text) == rows(counted.text) and len(rows(rushed.text)) == 50
