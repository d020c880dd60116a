"""ADMET throughput with admet-ai: load time, molecules per second by batch size, peak memory.

Input: a virtual library of the ChEMBL sulfonamide series (its own R groups recombined
around its core, as in ``bench/models.py``), ``--n`` molecules. Printed figures:

* import + model load time of admet-ai (once per process; cached afterwards);
* :func:`chem.admet.predict_admet` wall and CPU time and molecules/s per batch size;
* admet-ai's own ``ADMETModel.predict`` on the same molecules, for comparison;
* peak RSS of the process.

Everything runs offline: admet-ai ships its Chemprop checkpoints and DrugBank reference.

Usage::

    python bench/admet.py            # 2,000 molecules, batch sizes 64 / 256 / 1024
    python bench/admet.py --quick    # 200 molecules, batch sizes 64 / 256
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes for a smoke run")
    parser.add_argument("--n", type=int, default=None, help="molecules (default 2,000, quick 200)")
    parser.add_argument("--no-reference", action="store_true", help="skip admet-ai's own predict")
    args = parser.parse_args()
    n = args.n or (200 if args.quick else 2000)
    batch_sizes = [64, 256] if args.quick else [64, 256, 1024]

    from bench.models import load_series, virtual_library
    from chem.admet import load_admet_engine, predict_admet
    from chem.admet_settings import AdmetSettings

    smiles = virtual_library(load_series(), n)["smiles"].tolist()
    print(f"bench/admet.py ({'quick' if args.quick else 'full'}): {len(smiles)} library molecules")
    start = time.perf_counter()
    engine = load_admet_engine()
    print(f"admet-ai {engine.version}: import + load {time.perf_counter() - start:.1f} s "
          f"(import {engine.import_seconds:.1f} s, models + DrugBank reference {engine.load_seconds:.1f} s), "
          f"device {engine.device}")
    predict_admet(smiles[:8])  # first call pays one-off torch set-up
    for batch_size in batch_sizes:
        wall, cpu = time.perf_counter(), time.process_time()
        table = predict_admet(smiles, AdmetSettings(batch_size=batch_size))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        failed = int((table["admetai_error"] != "").sum())
        print(f"  predict_admet batch {batch_size:5d}: {wall:7.1f} s wall {cpu:7.1f} s CPU  "
              f"{len(smiles) / wall:6.0f} mol/s  ({failed} failed)")
    if not args.no_reference:
        from admet_ai import ADMETModel

        model = ADMETModel(include_physchem=False, num_workers=0)
        wall, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            model.predict(smiles)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  ADMETModel.predict (admet-ai's own): {wall:7.1f} s wall {cpu:7.1f} s CPU  "
              f"{len(smiles) / wall:6.0f} mol/s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
