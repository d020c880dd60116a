"""Predict up to 1,000,000 molecules streamed from disk with flat memory; RSS at 10 k / 100 k / 1 M.

The molecules: a SMILES file on disk holding the ChEMBL series' enumerated analogs
(``bench/models.py``'s virtual library, 10,000 new series members) repeated until
``--n`` lines. The model: the default activity model trained on the 1,017-compound
series (CV choice; the GP on this series). The file is read in 10,000-line chunks
(``pandas.read_csv(chunksize=...)``); each chunk is predicted
(:func:`chem.models.predict.predict_activity`) and appended to a Parquet file
(``pyarrow.parquet.ParquetWriter``), so neither the SMILES nor the predictions are
ever held whole. RSS (``/proc/self/statm``) is printed after 10 k, 100 k, every
further 100 k and at the end, with the throughput.

With ``--max-minutes`` the stream stops after that much time; the printed figures
then say how far it got, and the time for the full ``--n`` is extrapolated from the
measured rate (clearly labelled).

Usage::

    nice -n 10 python bench/predict_stream.py                    # 1,000,000 molecules
    nice -n 10 python bench/predict_stream.py --max-minutes 20   # stop early, extrapolate
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHUNK = 10_000
CHECKPOINTS = (10_000, 100_000)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def write_smiles_file(path: Path, library: list[str], n: int) -> None:
    """``n`` lines ``SMILES id``: the library repeated (ids unique per line)."""
    with path.open("w") as fh:
        for i in range(n):
            fh.write(f"{library[i % len(library)]} m{i}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="molecules to predict")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop the stream after this long")
    parser.add_argument("--library", type=int, default=10_000, help="distinct analogs in the file")
    args = parser.parse_args()

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chem.models.predict import predict_activity
    from chem.models.settings import ModelSettings
    from chem.models.train import train_activity_model
    from models import load_series, virtual_library

    series = load_series()
    library = virtual_library(series, args.library)["smiles"].tolist()
    print(f"bench/predict_stream.py: {args.n:,} molecules ({len(library):,} distinct analogs repeated) "
          f"from disk, {CHUNK:,}-line chunks" + (f", stop after {args.max_minutes} min" if args.max_minutes else ""))
    start = time.perf_counter()
    model = train_activity_model(series, ModelSettings())
    print(f"  model: {model.kind} on {len(series)} compounds, trained in {time.perf_counter() - start:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        smi, out = Path(tmp) / "molecules.smi", Path(tmp) / "predictions.parquet"
        write_smiles_file(smi, library, args.n)
        print(f"  input file {smi.stat().st_size / 2**20:.0f} MB; RSS before streaming {_rss_mb():.0f} MB")
        writer, n_done, n_failed, wall = None, 0, 0, time.perf_counter()
        marks = [*CHECKPOINTS, *range(200_000, args.n + 1, 100_000)]
        stopped_early = False
        for chunk in pd.read_csv(smi, sep=" ", header=None, names=["smiles", "compound_id"], chunksize=CHUNK,
                                 dtype=str):
            predictions = predict_activity(model, chunk)
            table = pa.Table.from_pandas(predictions, preserve_index=False)
            writer = writer or pq.ParquetWriter(out, table.schema)
            writer.write_table(table)
            n_done += len(chunk)
            n_failed += int((predictions["error"] != "").sum())
            elapsed = time.perf_counter() - wall
            if n_done in marks or n_done == args.n:
                print(f"  {n_done:>9,} predicted  RSS {_rss_mb():6.0f} MB  {elapsed:7.0f} s  "
                      f"{n_done / elapsed:5.0f} mol/s", flush=True)
            if args.max_minutes and elapsed > 60 * args.max_minutes and n_done < args.n:
                stopped_early = True
                print(f"  {n_done:>9,} predicted  RSS {_rss_mb():6.0f} MB  {elapsed:7.0f} s  "
                      f"{n_done / elapsed:5.0f} mol/s  (time limit reached)", flush=True)
                break
        if writer is not None:
            writer.close()
        elapsed = time.perf_counter() - wall
        print(f"  done: {n_done:,} molecules in {elapsed:.0f} s ({n_done / elapsed:.0f} mol/s), {n_failed} failed; "
              f"Parquet output {out.stat().st_size / 2**20:.0f} MB; peak RSS of the process "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if stopped_early:
            print(f"  EXTRAPOLATED (not measured): {args.n:,} molecules at the measured rate would take "
                  f"{args.n / (n_done / elapsed) / 60:.0f} min; full run: "
                  f"nice -n 10 python bench/predict_stream.py --n {args.n}")


if __name__ == "__main__":
    main()
