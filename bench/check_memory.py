"""Peak memory of checking a large assay file (``moltwin assays upload --dry-run``).

Writes a synthetic long-format assay CSV of about ``--mb`` megabytes (3,600 distinct
drug-sized structures, many replicates each, every row distinct), then, in a fresh child process,
records the resident set size after the imports and a warm-up (the baseline), checks the
file with :func:`lab_sync.upload.upload_assay_file` (``dry_run=True``) and prints the peak
RSS above the baseline divided by the file size. Linux only (``/proc``, ``ru_maxrss``).

    nice -n 10 python bench/check_memory.py --mb 50
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "compound_id,smiles,assay_id,endpoint,qualifier,value,units,replicate,test_date,operator\n"


def write_file(path: Path, megabytes: float, seed: int = 0) -> int:
    rng = random.Random(seed)
    ring = ["F", "Cl", "Br", "C", "OC", "N", "C#N", "C(F)(F)F", "O", "S(C)(=O)=O"]
    structures = [f"{'C' * a}OC(=O)c1cc({r})cc(c1)C(=O)N{'C' * b}"
                  for a in range(1, 13) for r in ring for b in range(1, 31)]
    target = int(megabytes * 1e6)
    with open(path, "w", newline="") as out:
        out.write(HEADER)
        size, row = len(HEADER), 0
        while size < target:
            i = row % len(structures)
            line = (f"CPD-{i:06d},{structures[i]},TYK2-BIOCHEM,IC50,{rng.choice('=<>')},"
                    f"{rng.uniform(1, 10000):.2f},nM,{row // len(structures) + 1},"
                    f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},op{rng.randint(1, 9)}\n")
            out.write(line)
            size += len(line)
            row += 1
    return row


CHILD = r"""
import json, resource, sys, time
from pathlib import Path

def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

from lab_sync.store import open_store
from lab_sync.upload import upload_assay_file
from chem.standardize import standardize_smiles
standardize_smiles("CCOC(=O)c1ccccc1")  # warm-up: RDKit's tables
store = open_store(sys.argv[2])
base = rss_kb()
t0 = time.perf_counter()
rep = upload_assay_file(store, Path(sys.argv[1]), "bench", dry_run=True)
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"baseline_mb": base / 1024, "peak_mb": peak / 1024, "wall_s": wall,
                  "n_rows": rep.n_rows, "n_valid": rep.n_valid, "n_invalid": rep.n_invalid}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="File size in MB (default 50).")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="Checkout whose code is measured (default: this one), e.g. an older "
                             "one for a before/after figure.")
    args = parser.parse_args()
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        t0 = time.perf_counter()
        n = write_file(path, args.mb)
        size_mb = path.stat().st_size / 1e6
        print(f"code: {repo}")
        print(f"file: {size_mb:.1f} MB, {n} rows (written in {time.perf_counter() - t0:.1f} s)")
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(Path(tmp) / "t.db")],
                             capture_output=True, text=True, cwd=repo,
                             env={**__import__("os").environ, "PYTHONPATH": str(repo),
                                  "MOLTWIN_HOME": str(Path(tmp) / "home")})
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
    above = r["peak_mb"] - r["baseline_mb"]
    print(f"check: {r['n_rows']} rows ({r['n_valid']} valid, {r['n_invalid']} invalid) in "
          f"{r['wall_s']:.1f} s")
    print(f"RSS baseline {r['baseline_mb']:.0f} MB, peak {r['peak_mb']:.0f} MB, "
          f"above baseline {above * 1.048576:.0f} MB")
    print(f"peak RSS above baseline / file size: {above * 1.048576 / size_mb:.2f}x")


if __name__ == "__main__":
    main()
