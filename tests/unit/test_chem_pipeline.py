"""Tests of chem.pipeline: streaming standardize -> filter over files, serial and multi-process."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, RDConfig

from chem.batch import combine_results, process_stream
from chem.featurize import morgan_bits, unpack_fingerprints
from chem.io import read_smiles_file
from chem.dedup import StreamDedup
from chem.pipeline import filter_file, run_filter
from chem.settings import FilterSettings
from moltwin.errors import BadInputError

NCI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
# Ubiquitin residues 1-64 (UniProt P0CG48): a real peptide of 510 heavy atoms.
PEPTIDE = Chem.MolToSmiles(Chem.MolFromSequence(
    "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKE"))
EJM_46 = "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl"  # Tyk2 series (data/tyk2)
# One line per failure kind, between good molecules, with the reason each must get.
MESSY = [
    (EJM_46, "ejm_46", None),
    ("C1CC(", "broken", "unparsable_smiles"),
    ("c1ccccc1N(=O)=O=O", "bad_valence", "unparsable_smiles"),
    ("Cl[Pt](Cl)([NH3])[NH3]", "cisplatin", "metal_or_radical"),
    ("C[Hg]Cl", "methylmercury", "metal_or_radical"),
    ("CC1(C)CCCC(C)(C)N1[O]", "tempo", "metal_or_radical"),
    (PEPTIDE, "ubiquitin_1_64", "too_large"),
    ("O=C(Nc1ccnc(NC(=O)C2CCC2)c1)c1c(Cl)cccc1Cl.[Na+].[Cl-]", "salt_form", None),
    ("CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", "ejm_46", "duplicate_id"),
    ("O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl", "same_as_ejm_46", "duplicate_structure"),
    ("[Na+].[Cl-]", "table_salt", "inorganic"),
    ("CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", "ejm_31", None),
]


def write_smi(path: Path, rows) -> Path:
    path.write_text("".join(f"{smi} {cid}\n" for smi, cid, *_ in rows))
    return path


def nci_lines(n: int) -> list[tuple[str, str]]:
    lines = [ln.split()[:2] for ln in NCI.read_text().splitlines()[:n]]
    return [(s, c) for s, c in lines]


def test_messy_file_every_failure_counted_with_its_line(tmp_path):
    src = write_smi(tmp_path / "messy.smi", MESSY)
    summary = filter_file(src, tmp_path / "kept.parquet", FilterSettings(alert_catalogs=[]),
                          failures_path=tmp_path / "failures.csv",
                          rejected_path=tmp_path / "rejected.csv", chunk_size=4)
    failures = pd.read_csv(tmp_path / "failures.csv")
    got = {(r.input_line, r.reason_code) for r in failures.itertuples()}
    want = {(i + 1, reason) for i, (_, _, reason) in enumerate(MESSY) if reason}
    assert got == want
    kept = pd.read_parquet(tmp_path / "kept.parquet")
    assert list(kept["compound_id"]) == ["ejm_46", "salt_form", "ejm_31"]
    assert summary["n_input"] == len(MESSY) and summary["n_failed"] == len(want)
    assert summary["failure_counts"]["unparsable_smiles"] == 2
    funnel = pd.DataFrame(summary["funnel"]).set_index("step")
    assert funnel.loc["standardize", "n_rejected"] == 7
    assert funnel.loc["deduplicate", "n_rejected"] == 2
    assert funnel["n_out"].iloc[-1] == len(kept)


def test_two_processes_give_the_serial_result_and_catch_duplicates_across_chunks(tmp_path):
    rows = nci_lines(40)
    rows += [(rows[3][0], "dup_structure_of_" + rows[3][1]), ("CCO", rows[10][1])]  # chunk 7+
    src = write_smi(tmp_path / "lib.smi", rows)
    serial = combine_results(process_stream(read_smiles_file(src, batch_size=6)))
    summary = filter_file(src, tmp_path / "kept.parquet", failures_path=tmp_path / "f.parquet",
                          rejected_path=tmp_path / "r.parquet", funnel_path=tmp_path / "fun.csv",
                          processes=2, chunk_size=6)
    kept = pd.read_parquet(tmp_path / "kept.parquet")
    assert list(kept["compound_id"]) == list(serial.kept["compound_id"])
    assert list(kept["smiles"]) == list(serial.kept["smiles"])
    failures = pd.read_parquet(tmp_path / "f.parquet")
    key = ["compound_id", "reason_code", "input_line"]
    assert sorted(map(tuple, failures[key].values.tolist())) == \
        sorted(map(tuple, serial.failures[key].astype(object).values.tolist()))
    assert {("dup_structure_of_" + rows[3][1], "duplicate_structure", 41),
            (rows[10][1], "duplicate_id", 42)} <= set(map(tuple, failures[key].values.tolist()))
    funnel = pd.read_csv(tmp_path / "fun.csv")
    assert funnel.values.tolist() == serial.funnel.values.tolist()
    assert summary["n_kept"] == len(kept) and summary["processes"] == 2


def test_cross_chunk_dedup_keeps_the_first_and_says_which():
    chunks = [pd.DataFrame({"compound_id": ["a", "b"], "smiles": ["CCO", "c1ccccc1O"],
                            "input_line": [1, 2]}),
              pd.DataFrame({"compound_id": ["c", "a", "d"], "smiles": ["OCC", "CCN", "C(O)C"],
                            "input_line": [3, 4, 5]})]
    results = list(run_filter(chunks, FilterSettings(mw_da={"min": 0}, tpsa_a2={}, heavy_atoms={},
                                                     qed_min=None, alert_catalogs=[])))
    second = results[1]
    assert second.kept.empty
    fails = second.failures.set_index("compound_id")
    assert fails.loc["c", "reason_code"] == "duplicate_structure"
    assert fails.loc["c", "detail"] == "duplicate_of=a" and fails.loc["c", "input_line"] == 3
    assert fails.loc["a", "reason_code"] == "duplicate_id"
    # d repeats c within the chunk; c repeats a: d names the first of them all
    assert fails.loc["d", "detail"] == "duplicate_of=a" and "same structure as a" in fails.loc["d", "message"]
    assert list(second.failures["input_line"]) == [3, 4, 5]
    assert second.funnel.set_index("step").loc["deduplicate", "n_rejected"] == 3


def test_dedup_off_lets_replicas_through(tmp_path):
    rows = [(EJM_46, f"ejm_46_r{i}") for i in range(3)]
    summary = filter_file(write_smi(tmp_path / "rep.smi", rows), tmp_path / "k.csv",
                          chunk_size=2, deduplicate=False)
    assert summary["n_kept"] == 3 and summary["n_deduplicated"] == 0


def test_split_ids_drops_repeats_before_any_chemistry():
    dedup = StreamDedup()
    first, fails = dedup.split_ids(pd.DataFrame({"compound_id": ["a", " a", None, "b"],
                                                 "smiles": ["C", "CC", "CCC", "C1CC("],
                                                 "input_line": [1, 2, 3, 4]}))
    assert list(first["compound_id"].fillna("-")) == ["a", "-", "b"]
    assert [(f.compound_id, f.reason_code, f.input_line) for f in fails] == [("a", "duplicate_id", 2)]
    second, fails = dedup.split_ids(pd.DataFrame({"compound_id": ["b", "c"], "smiles": ["C", "C"],
                                                  "input_line": [5, 6]}))
    assert list(second["compound_id"]) == ["c"] and fails[0].input_line == 5


def test_fingerprints_round_trip(tmp_path):
    src = write_smi(tmp_path / "two.smi", [(EJM_46, "a"), ("CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", "b")])
    filter_file(src, tmp_path / "k.parquet", fingerprint=(2, 2048))
    kept = pd.read_parquet(tmp_path / "k.parquet")
    bits = unpack_fingerprints(list(kept["morgan_fp"]))
    assert np.array_equal(bits, morgan_bits(list(kept["smiles"])))
    assert kept["hbd"].dtype == np.int64 and kept["input_line"].tolist() == [1, 2]


def test_empty_file_raises_and_leaves_no_output(tmp_path):
    src = tmp_path / "empty.smi"
    src.write_text("# nothing here\n\n")
    with pytest.raises(BadInputError, match="empty"):
        filter_file(src, tmp_path / "k.parquet", failures_path=tmp_path / "f.csv")
    assert not list(tmp_path.glob("k.parquet*")) and not list(tmp_path.glob(".*partial"))


def test_wrong_columns_name_the_file_row_and_field(tmp_path):
    src = tmp_path / "mols.csv"
    src.write_text("name,structure\nejm_46," + EJM_46 + "\n")
    with pytest.raises(BadInputError) as err:
        filter_file(src, tmp_path / "k.parquet")
    assert err.value.row == 1 and err.value.field == "smiles" and "mols.csv" in str(err.value)
    summary = filter_file(src, tmp_path / "k.parquet",
                          read_options={"smiles_column": "structure", "id_column": "name"})
    assert summary["n_kept"] == 1


def test_unknown_output_type_fails_before_work(tmp_path):
    with pytest.raises(BadInputError, match="unknown output type"):
        filter_file(NCI, tmp_path / "kept.xlsx")
