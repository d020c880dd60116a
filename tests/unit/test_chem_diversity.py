"""Tests of chem.diversity: MaxMin picking and Butina clustering."""

import pandas as pd
import pytest

from chem.diversity import butina_clusters, butina_labels, maxmin_pick, select_diverse
from moltwin.errors import BadInputError

# Three families of close analogs.
FAMILIES = {
    "indole": ["c1ccc2[nH]ccc2c1", "Cc1ccc2[nH]ccc2c1", "Clc1ccc2[nH]ccc2c1", "Fc1ccc2[nH]ccc2c1"],
    "alkanol": ["CCCCCCO", "CCCCCCCO", "CCCCCCCCO"],
    "sulfonamide": ["NS(=O)(=O)c1ccc(C(=O)O)cc1", "CNS(=O)(=O)c1ccc(C(=O)O)cc1",
                    "CCNS(=O)(=O)c1ccc(C(=O)O)cc1"],
}
SMILES = [s for group in FAMILIES.values() for s in group]
FAMILY_OF = [name for name, group in FAMILIES.items() for _ in group]


def test_maxmin_picks_one_per_family_and_is_deterministic():
    picks = maxmin_pick(SMILES, 3, seed=42)
    assert len(set(picks)) == 3
    assert {FAMILY_OF[i] for i in picks} == set(FAMILIES)
    assert picks == maxmin_pick(SMILES, 3, seed=42)
    assert maxmin_pick(SMILES, 50) == list(range(len(SMILES)))
    assert maxmin_pick(SMILES, 3, first_picks=[4])[0] == 4


def test_butina_recovers_families():
    clusters = butina_clusters(SMILES, distance_threshold=0.7)
    assert sorted(len(c) for c in clusters) == [3, 3, 4]
    labels = butina_labels(SMILES, distance_threshold=0.7)
    for name in FAMILIES:
        assert len({labels[i] for i, f in enumerate(FAMILY_OF) if f == name}) == 1


def test_select_diverse():
    df = pd.DataFrame({"compound_id": [f"c{i}" for i in range(len(SMILES))], "smiles": SMILES})
    for method in ("maxmin", "butina"):
        picked = select_diverse(df, 3, method=method, distance_threshold=0.7)
        assert len(picked) == 3
        assert {FAMILY_OF[int(c[1:])] for c in picked.compound_id} == set(FAMILIES)
    with pytest.raises(BadInputError):
        select_diverse(df, 2, method="random")
