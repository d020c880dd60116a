"""Tests of chem.candidates: compound ids, combination sampling, the collector."""

import json

from rdkit import Chem

from chem.candidates import (CANDIDATE_COLUMNS, CandidateCollector, GenerationResult,
                             combination_indices, make_compound_id, provenance_json)
from moltwin.records import FAILURE_COLUMNS


def test_compound_id_is_structure_based():
    a = make_compound_id(Chem.MolFromSmiles("OCC"))
    assert a == make_compound_id(Chem.MolFromSmiles("C(O)C"))
    assert a.startswith("MT-") and len(a) == 13
    assert make_compound_id(Chem.MolFromSmiles("C[C@H](N)O")) != \
        make_compound_id(Chem.MolFromSmiles("C[C@@H](N)O"))
    assert make_compound_id(Chem.MolFromSmiles("CCO"), prefix="X").startswith("X")


def test_combination_indices_cover_product_without_repeats():
    combos = list(combination_indices([3, 4], None, 0))
    assert combos[0] == (0, 0) and combos[-1] == (2, 3) and len(set(combos)) == 12
    sample = list(combination_indices([1000, 1000], 5, 1))
    assert len(sample) == 115 and len(set(sample)) == 115
    assert sample == list(combination_indices([1000, 1000], 5, 1))
    assert list(combination_indices([3, 0], None, 0)) == []


def test_collector_dedups_excludes_caps_and_records_failures():
    collector = CandidateCollector("test", max_candidates=2, exclude_smiles=["OCC"])
    prov = provenance_json(b=1, a=[1, 2])
    assert json.loads(prov) == {"a": [1, 2], "b": 1} and prov.startswith('{"a"')
    assert not collector.add(Chem.MolFromSmiles("C(O)C"), prov)  # excluded seed
    assert collector.add(Chem.MolFromSmiles("CCN"), prov)
    assert not collector.add(Chem.MolFromSmiles("NCC"), prov)  # duplicate
    bad = Chem.MolFromSmiles("CN(C)C", sanitize=False)
    bad.GetAtomWithIdx(1).SetFormalCharge(0)
    rw = Chem.RWMol(bad)
    rw.AddAtom(Chem.Atom(6))
    rw.AddBond(1, 4, Chem.BondType.SINGLE)  # a neutral four-valent N
    assert not collector.add(rw.GetMol(), prov)
    assert collector.add(Chem.MolFromSmiles("CCC"), prov)
    assert collector.full and not collector.add(Chem.MolFromSmiles("CCCC"), prov)
    result = collector.result()
    assert list(result.candidates.columns) == CANDIDATE_COLUMNS
    assert list(result.candidates.smiles) == ["CCN", "CCC"]
    assert list(result.failures.columns) == FAILURE_COLUMNS
    assert list(result.failures.reason_code) == ["sanitization_failed"]
    merged = GenerationResult.concat([result, result])
    assert len(merged.candidates) == 2 and len(merged.failures) == 2
