"""Checking a file streams its rows: memory grows with the valid measurements, not the file text.

The figure for a 50 MB file is measured by ``bench/check_memory.py`` (peak RSS); this test
keeps the property from regressing on a 2 MB file with Python's own allocation tracer.
"""

from __future__ import annotations

import random
import tracemalloc

from lab_sync.store import open_store
from lab_sync.upload import upload_assay_file


def test_checking_a_file_needs_a_few_times_its_size(tmp_path):
    rng = random.Random(1)
    path = tmp_path / "big.csv"
    structures = [f"{'C' * a}OC(=O)c1ccc(cc1)C(=O)N{'C' * b}" for a in range(1, 6) for b in range(1, 11)]
    with open(path, "w") as out:
        out.write("compound_id,smiles,assay_id,endpoint,qualifier,value,units,replicate,test_date,operator\n")
        row = 0
        while out.tell() < 2_000_000:
            i = row % len(structures)
            out.write(f"CPD-{i:04d},{structures[i]},TYK2-BIOCHEM,IC50,=,{rng.uniform(1, 1e4):.2f},nM,"
                      f"{row // len(structures)},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},ak\n")
            row += 1
    size = path.stat().st_size
    store = open_store(str(tmp_path / "t.db"))
    upload_assay_file(store, path, "warm", dry_run=True)  # imports, RDKit tables, caches
    tracemalloc.start()
    rep = upload_assay_file(store, path, "p", dry_run=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rep.n_valid == row
    assert peak < 5 * size, f"peak {peak / size:.1f}x the file size"
