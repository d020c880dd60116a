"""Tests of chem.analogs: BRICS recombination and point mutations, similarity-bounded."""

import json
from pathlib import Path

import pytest
from rdkit import Chem

from chem.analogs import brics_analogs, mutation_analogs, point_mutations
from chem.featurize import bulk_tanimoto, morgan_bitvects

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeds():
    mols = list(Chem.SDMolSupplier(str(ROOT / "data" / "tyk2" / "ligands.sdf")))[:2]
    return [(m.GetProp("_Name"), Chem.MolToSmiles(Chem.RemoveHs(m))) for m in mols]


def _similarity(a, b):
    fa, fb = morgan_bitvects([a, b])
    return float(bulk_tanimoto(fa, [fb])[0])


def test_point_mutations_cover_substituents_and_ring_swaps():
    kinds = [what for _, what in point_mutations(Chem.MolFromSmiles("c1ccncc1C"))]
    assert "atom 0: H>F" in kinds and "atom 0: CH>N" in kinds
    assert any(k.endswith("N>CH") for k in kinds)


def test_mutation_analogs_bounded_and_deterministic(seeds):
    result = mutation_analogs(seeds, min_similarity=0.55, max_candidates=None)
    cands = result.candidates
    assert len(cands) > 20 and cands.compound_id.is_unique
    seed_smiles = dict(seeds)
    for row in cands.itertuples():
        prov = json.loads(row.provenance)
        assert prov["similarity"] >= 0.55
        assert _similarity(row.smiles, seed_smiles[prov["seed_id"]]) == pytest.approx(
            prov["similarity"], abs=1e-3)
    assert not set(cands.smiles) & set(seed_smiles.values())
    assert any(json.loads(p)["mutation"].endswith("CH>N") for p in cands.provenance)
    capped = mutation_analogs(seeds, min_similarity=0.55, max_candidates=10, seed=5)
    assert len(capped.candidates) == 10
    assert capped.candidates.equals(mutation_analogs(seeds, min_similarity=0.55,
                                                     max_candidates=10, seed=5).candidates)
    assert set(capped.candidates.smiles) <= set(cands.smiles)


def test_brics_analogs_bounded_and_deterministic(seeds):
    a = brics_analogs(seeds, min_similarity=0.45, max_candidates=50, seed=0, max_built=1000)
    b = brics_analogs(seeds, min_similarity=0.45, max_candidates=50, seed=0, max_built=1000)
    assert len(a.candidates) > 0 and a.candidates.equals(b.candidates)
    assert (a.candidates.origin == "brics").all()
    seed_smiles = dict(seeds)
    for row in a.candidates.itertuples():
        prov = json.loads(row.provenance)
        assert _similarity(row.smiles, seed_smiles[prov["seed_id"]]) >= 0.45
    loose = brics_analogs(seeds, min_similarity=0.0, max_candidates=None, max_built=1000)
    assert len(loose.candidates) > len(a.candidates)
