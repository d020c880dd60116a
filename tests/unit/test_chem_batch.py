"""Tests of chem.batch: standardize -> filter on chunks, funnels, streaming dedup."""

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from chem.batch import combine_funnels, combine_results, process_batch, process_stream
from chem.io import read_smiles_file
from chem.settings import FilterSettings

ROOT = Path(__file__).resolve().parents[2]
NCI = ROOT / ".venv/lib/python3.11/site-packages/rdkit/Data/NCI/first_5K.smi"

CHUNK = pd.DataFrame({
    "compound_id": ["ejm_46", "salt", "bad", "dup", "pains", "big"],
    "smiles": ["O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl",
               "O=C(Nc1ccnc(NC(=O)C2CCC2)c1)c1c(Cl)cccc1Cl.Cl",
               "C1CC(", "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl",
               "S=C1SC(=Cc2ccccc2)C(=O)N1",
               "CC(C)(C)c1ccc(-c2ccc(C(=O)Nc3ccc(-c4ccc(C(=O)Nc5ccc(C(C)(C)C)cc5)cc4)cc3)cc2)cc1"],
    "input_line": [1, 2, 3, 4, 5, 6],
})


def test_process_batch_end_to_end():
    result = process_batch(CHUNK)
    assert list(result.kept.compound_id) == ["ejm_46", "salt"]
    assert result.kept.smiles.iloc[1] == "O=C(Nc1ccnc(NC(=O)C2CCC2)c1)c1c(Cl)cccc1Cl"
    assert {"inchikey", "input_line", "qed", "sa_score"} <= set(result.kept.columns)
    assert set(result.rejected.compound_id) == {"pains", "big"}
    assert set(zip(result.failures.compound_id, result.failures.reason_code,
                   result.failures.input_line)) == {("bad", "unparsable_smiles", 3),
                                                    ("dup", "duplicate_structure", 4)}
    funnel = result.funnel.set_index("step")
    assert funnel.loc["standardize"].tolist() == [6, 1, 5]
    assert funnel.loc["deduplicate"].tolist() == [5, 1, 4]
    assert result.funnel.n_out.iloc[-1] == 2


def test_stream_dedups_across_chunks_and_combines():
    chunks = [CHUNK.iloc[:3], CHUNK.iloc[3:]]
    results = list(process_stream(chunks, FilterSettings(alert_catalogs=[])))
    merged = combine_results(results)
    assert "dup" in set(merged.failures.compound_id)  # duplicate of a compound in chunk 1
    assert merged.funnel.n_in.iloc[0] == 6
    assert merged.funnel.n_out.iloc[-1] == len(merged.kept) == 3
    assert combine_funnels([]).empty


@pytest.mark.slow
def test_throughput_on_nci_first_5k():
    start = time.perf_counter()
    merged = combine_results(process_stream(read_smiles_file(NCI, batch_size=1000)))
    elapsed = time.perf_counter() - start
    n = int(merged.funnel.n_in.iloc[0])
    print(f"\nstandardize+filter: {n} molecules in {elapsed:.1f} s = {n / elapsed:.0f} mol/s "
          f"(pid {os.getpid()})\n{merged.funnel.to_string()}")
    assert n == 4999 and len(merged.kept) > 300


def test_results_pickle_for_process_pools():
    import pickle

    result = pickle.loads(pickle.dumps(process_batch(CHUNK.iloc[:2])))
    assert list(result.kept.compound_id) == ["ejm_46", "salt"]
