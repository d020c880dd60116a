"""Retrospective design-make-test-analyse (DMTA) replay on the 1,017-compound ChEMBL series.

The ChEMBL sulfonamide series (``data/chembl_freewilson``, document CHEMBL2321810) is
treated as a pool of unmeasured ideas. Each seed starts with a random 5 % measured; every
cycle a strategy picks a batch of 20 unmeasured compounds, and "measuring" them reveals
their true pActivity. Strategies:

* ``random``  -- 20 compounds at random;
* ``greedy``  -- the 20 highest predicted means (no uncertainty, no diversity);
* ``ucb``     -- :func:`ranking.next_batch.propose_next_batch` with the report's defaults:
  UCB (mean + 1 sd), Tanimoto ≤ 0.7 between picks;
* ``ei``      -- the same with expected improvement over the best measured value.

The model-based strategies retrain the activity model every cycle on everything measured
so far (``chem.models.train_activity_model``, random forest only, few folds: fast) and
predict the rest with conformal intervals. The figure of merit is how many of the true
top 50 (highest pActivity; ties at the 50th value broken by compound id) have been
measured after 5 and after 10 cycles, mean ± sd over seeds.

Usage::

    python bench/dmta_retrospective.py            # 5 seeds, 10 cycles, all strategies
    python bench/dmta_retrospective.py --quick    # 2 seeds
    python bench/dmta_retrospective.py --strategies random greedy ucb --seeds 3

The table is printed and written to ``bench/results/dmta_retrospective.md``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chem.models.example_series import load_freewilson_series  # noqa: E402
from chem.models.predict import predict_activity  # noqa: E402
from chem.models.settings import ModelSettings  # noqa: E402
from chem.models.train import train_activity_model  # noqa: E402
from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.next_batch import propose_next_batch  # noqa: E402
from ranking.settings import NextBatchSettings, RankSettings  # noqa: E402

DATA = ROOT / "data" / "chembl_freewilson"
STRATEGIES = ("random", "greedy", "ucb", "ei")
REPORT_AT = (5, 10)


def load_series() -> pd.DataFrame:
    """The series with its true pActivity, and ``is_top`` for the true top 50."""
    series = load_freewilson_series(DATA / "CHEMBL2321810.smi", DATA / "CHEMBL2321810_act.csv")
    order = series.sort_values(["p_activity", "compound_id"], ascending=[False, True],
                               kind="mergesort")
    series["is_top"] = series["compound_id"].isin(order["compound_id"].head(50))
    return series.reset_index(drop=True)


def _predict(series: pd.DataFrame, measured: np.ndarray, settings: ModelSettings) -> pd.DataFrame:
    train = series.loc[measured, ["compound_id", "smiles", "p_activity", "qualifier"]]
    model = train_activity_model(train, settings)
    return predict_activity(model, series.loc[~measured, ["compound_id", "smiles"]])


def pick_batch(strategy: str, series: pd.DataFrame, measured: np.ndarray, batch: int,
               rng: np.random.Generator, model_settings: ModelSettings) -> list[str]:
    """Compound ids of the next batch chosen by ``strategy``."""
    pool = series.loc[~measured, "compound_id"]
    if strategy == "random":
        return list(rng.choice(pool.to_numpy(), size=min(batch, len(pool)), replace=False))
    preds = _predict(series, measured, model_settings)
    if strategy == "greedy":
        order = preds.sort_values(["pred_p_activity", "compound_id"], ascending=[False, True],
                                  kind="mergesort")
        return list(order["compound_id"].head(batch))
    candidates = series[["compound_id", "smiles"]].assign(inchikey="", origin="chembl")
    measurements = series.loc[measured, ["compound_id", "p_activity"]].rename(
        columns={"p_activity": "measured_p_activity"})
    table = merge_candidate_table(candidates, None, preds.drop(columns=["smiles"]),
                                  measurements)
    settings = RankSettings(next_batch=NextBatchSettings(size=batch, acquisition=strategy))
    return list(propose_next_batch(table, batch, settings)["compound_id"])


def replay(series: pd.DataFrame, strategy: str, seed: int, cycles: int, batch: int,
           start_fraction: float, model_settings: ModelSettings) -> list[int]:
    """Top-50 found after the start and after each cycle, then the number measured."""
    rng = np.random.default_rng(seed)
    n_start = int(round(start_fraction * len(series)))
    measured = np.zeros(len(series), dtype=bool)
    measured[rng.choice(len(series), size=n_start, replace=False)] = True
    # The same start for every strategy of a seed; the pick stream is separate.
    pick_rng = np.random.default_rng([seed, 1])
    found = [int((measured & series["is_top"]).sum())]
    settings = model_settings.model_copy(update={"seed": seed})
    index = pd.Series(series.index, index=series["compound_id"])
    for _ in range(cycles):
        picks = pick_batch(strategy, series, measured, batch, pick_rng, settings)
        measured[index[picks].to_numpy()] = True
        found.append(int((measured & series["is_top"]).sum()))
    # The diversity rule may leave a batch short; the measured count shows the budget used.
    return found + [int(measured.sum())]


def summarize(results: dict[str, list[list[int]]], cycles: int) -> pd.DataFrame:
    """Mean ± sd of top-50 found at the start and at each reported cycle, per strategy."""
    rows = []
    for strategy, runs in results.items():
        found = np.array(runs, dtype=float)
        row = {"strategy": strategy, "seeds": len(runs)}
        for at in (0, *[c for c in REPORT_AT if c <= cycles]):
            mean, sd = found[:, at].mean(), found[:, at].std(ddof=1) if len(runs) > 1 else 0.0
            row["start" if at == 0 else f"after {at} cycles"] = f"{mean:.1f} ± {sd:.1f}"
        row["measured at end"] = f"{found[:, -1].mean():.0f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 seeds (validation run)")
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--start-fraction", type=float, default=0.05)
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" /
                        "dmta_retrospective.md")
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else args.seeds
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")

    series = load_series()
    model_settings = ModelSettings(model_kinds=["random_forest"], n_estimators=args.n_estimators,
                                   cv_folds=args.cv_folds)
    results: dict[str, list[list[int]]] = {s: [] for s in args.strategies}
    tic = time.perf_counter()
    for seed in range(seeds):
        for strategy in args.strategies:
            t0 = time.perf_counter()
            found = replay(series, strategy, seed, args.cycles, args.batch, args.start_fraction,
                           model_settings)
            results[strategy].append(found)
            print(f"seed {seed} {strategy:>6}: top-50 found per cycle {found[:-1]}, "
                  f"{found[-1]} measured "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    table = summarize(results, args.cycles)
    n_start = int(round(args.start_fraction * len(series)))
    expected_random = 50 * (n_start + np.array(REPORT_AT) * args.batch) / len(series)
    header = (f"DMTA replay on CHEMBL2321810 ({len(series)} compounds; true top 50 = "
              f"pActivity ≥ {series.loc[series['is_top'], 'p_activity'].min():.2f}): start "
              f"{n_start} measured at random, batches of {args.batch}, {seeds} seeds; model "
              f"random_forest ({args.n_estimators} trees, {args.cv_folds}-fold CV), retrained "
              f"every cycle. Random picking expects {expected_random[0]:.1f} / "
              f"{expected_random[1]:.1f} of the top 50 after {REPORT_AT[0]} / {REPORT_AT[1]} "
              f"cycles. Wall time {time.perf_counter() - tic:.0f} s.")
    markdown = table.to_markdown(index=False)
    print("\n" + header + "\n\n" + markdown)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# DMTA retrospective{' (--quick)' if args.quick else ''}\n\n"
                        f"{header}\n\nTop-50 compounds found (mean ± sd over seeds):\n\n"
                        f"{markdown}\n\nCommand: `python bench/dmta_retrospective.py "
                        f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n",
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
