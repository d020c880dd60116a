"""Prediction-ledger insert rate of the twin store: SQLite vs PostgreSQL (rows/s).

Writes ``--rows`` predictions (``--batch`` rows per call of
:func:`lab_sync.twin_records.record_predictions`, one transaction each, as a screen or a sync
writes them) into a fresh store on each backend and prints rows per second. SQLite is a file in a
temporary folder with the store's own pragmas; PostgreSQL is ``--pg-url`` (an empty database) or,
without it, a throw-away local server from Debian's ``postgresql`` package (``tests/pg_cluster.py``)
with fsync and synchronous commit **on**, as shipped. Both run on this machine's disk over loopback;
a database on another host adds the network round trips (one per batch).

    python bench/store_ledger.py                    # 50 000 rows in batches of 5 000, both backends
    python bench/store_ledger.py --rows 200000 --batch 20000
    python bench/store_ledger.py --pg-url postgresql+psycopg://u:p@db/empty_db
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _predictions(n: int, offset: int, rng: np.random.Generator) -> pd.DataFrame:
    value = rng.normal(7.0, 1.0, n)
    half = rng.uniform(0.3, 1.2, n)
    return pd.DataFrame({"compound_id": [f"C{offset + i:08d}" for i in range(n)], "pred_p_activity": value,
                         "pred_std": half / 1.28, "lower_80": value - half, "upper_80": value + half,
                         "lower_90": value - 1.3 * half, "upper_90": value + 1.3 * half,
                         "max_train_similarity": rng.uniform(0.2, 0.9, n), "in_domain": rng.random(n) > 0.2})


def time_ledger(url: str, rows: int, batch: int, seed: int = 0) -> dict:
    """Insert ``rows`` predictions in ``batch``-row calls; return seconds and rows/s."""
    from lab_sync.store import open_store
    from lab_sync.twin_records import record_predictions

    store = open_store(url)
    store.ensure_project("bench")
    rng = np.random.default_rng(seed)
    tables = [_predictions(min(batch, rows - start), start, rng) for start in range(0, rows, batch)]
    t0 = time.perf_counter()
    written = sum(record_predictions(store, "bench", t, model_id="bench-model", run_id="bench") for t in tables)
    seconds = time.perf_counter() - t0
    assert written == rows == store.count("predictions", "bench")
    store.engine.dispose()
    return {"seconds": seconds, "rows_per_s": rows / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=2, help="fresh store each time; the fastest is kept")
    parser.add_argument("--pg-url", default=None, help="an empty PostgreSQL database (default: a local throw-away server)")
    args = parser.parse_args()

    import sqlalchemy

    print(f"prediction ledger: {args.rows} rows in batches of {args.batch}, best of {args.repeats}; "
          f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = min((time_ledger(f"sqlite:///{tmp}/twin{i}.db", args.rows, args.batch)
                                 for i in range(args.repeats)), key=lambda r: r["seconds"])
    cluster = None
    if args.pg_url:
        urls = [args.pg_url] * args.repeats
    else:
        from pg_cluster import PgCluster, find_pg_bin

        if find_pg_bin() is None:
            sys.exit("no PostgreSQL server binaries: apt-get install postgresql, or pass --pg-url")
        cluster = PgCluster(find_pg_bin(), durable=True).start()
        urls = [cluster.new_database() for _ in range(args.repeats)]
    try:
        results["postgresql"] = min((time_ledger(u, args.rows, args.batch) for u in urls),
                                    key=lambda r: r["seconds"])
        if cluster is not None:
            from sqlalchemy import create_engine, text

            with create_engine(f"{cluster.url}/postgres").connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar()
            print(f"PostgreSQL {version}, local server on 127.0.0.1, fsync on, synchronous_commit on")
    finally:
        if cluster is not None:
            cluster.stop()
    for name, r in results.items():
        print(f"{name:<11} {r['seconds']:7.2f} s  {r['rows_per_s']:9.0f} rows/s")
    print(f"postgresql/sqlite rate ratio: {results['postgresql']['rows_per_s'] / results['sqlite']['rows_per_s']:.2f}")


if __name__ == "__main__":
    main()
