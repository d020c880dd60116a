"""Activity-model benchmarks: held-out accuracy, interval coverage, small-series LOO, scale.

Printed figures:

1. ChEMBL sulfonamide series (``data/chembl_freewilson``, 1,017 compounds, pActivity):
   random and Bemis-Murcko scaffold splits (20 % held out, ``--seeds`` seeds), per model
   kind (random forest, extra trees, boosted bootstrap ensemble, kNN) and the mean
   predictor: RMSE, Spearman, and the share of held-out measurements inside the stated
   split-conformal 80 % / 90 % intervals (should be close to 0.80 / 0.90), with the mean
   90 % interval width.
2. The 16 Tyk2 ligands (``data/tyk2/ligands.sdf``, experimental dG -> pActivity):
   leave-one-out Spearman and RMSE per kind and for the CV-chosen kind (what the demo
   trains). The mean predictor's LOO Spearman is -1 by construction (leaving a compound
   out moves the mean away from it), so it is not a useful floor there.
3. Scale: train the default model (model choice by 5-fold CV over four kinds) on all
   1,017 compounds, then predict a 10,000-molecule virtual library made by recombining
   the series' own R groups around its core (none of them in the series); wall and CPU
   time, molecules per second, peak RSS. Runs in a fresh process so the memory figure
   is the model's, not this script's.

Usage::

    python bench/models.py            # full: 3 seeds, default settings, 10,000 molecules
    python bench/models.py --quick    # 300 compounds, 1 seed, small forests, 1,000 molecules
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FREEWILSON = ROOT / "data" / "chembl_freewilson"
# The series scaffold (CHEMBL2321810_scaffold.mol) with its three R sites numbered.
FREEWILSON_CORE = "N#Cc1cc(S(=O)(=O)[*:1])cc([*:2])c1O[*:3]"


def load_series():
    from chem.models.example_series import load_freewilson_series

    return load_freewilson_series(FREEWILSON / "CHEMBL2321810.smi", FREEWILSON / "CHEMBL2321810_act.csv")


def bench_settings(quick: bool, seed: int = 0):
    from chem.models.settings import ModelSettings

    if quick:
        return ModelSettings(n_estimators=50, n_bootstrap_members=3, seed=seed)
    return ModelSettings(seed=seed)


def series_splits(series, quick: bool, seeds: list[int]):
    """Section 1: evaluate every kind on random and scaffold splits, mean ± sd over seeds."""
    import pandas as pd

    from chem.models.evaluate import evaluate_models

    rows = []
    for split in ("random", "scaffold"):
        for seed in seeds:
            start = time.perf_counter()
            table = evaluate_models(series, split, bench_settings(quick, seed))
            table["seed"] = seed
            rows.append(table)
            print(f"  {split} split, seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    results = pd.concat(rows, ignore_index=True)
    metrics = ["rmse", "spearman", "coverage_80", "coverage_90", "mean_width_90", "train_seconds"]
    summary = results.groupby(["split", "model_kind"], sort=False)[metrics].agg(["mean", "std"])
    return results, summary


def _fmt(mean: float, sd: float, digits: int = 2) -> str:
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd == sd else "")


def print_series(summary, n_compounds: int, seeds: list[int]) -> None:
    print(f"\n1. ChEMBL series, {n_compounds} compounds, 20 % held out, seeds {seeds} (mean ± sd)")
    print(f"{'split':9}{'model':19}{'RMSE':>14}{'Spearman':>14}{'cov 80%':>14}{'cov 90%':>14}"
          f"{'width 90%':>14}{'train s':>10}")
    for (split, kind), row in summary.iterrows():
        print(f"{split:9}{kind:19}" + "".join(
            f"{_fmt(row[(m, 'mean')], row[(m, 'std')]):>14}"
            for m in ("rmse", "spearman", "coverage_80", "coverage_90", "mean_width_90"))
            + f"{row[('train_seconds', 'mean')]:>10.1f}")


def tyk2_loo(quick: bool) -> list[dict]:
    """Section 2: leave-one-out predictions on the 16 Tyk2 ligands, per kind and CV-chosen."""
    import numpy as np
    from scipy.stats import spearmanr

    from chem.models.example_series import load_tyk2_ligands
    from chem.models.predict import predict_activity
    from chem.models.train import train_activity_model

    ligands = load_tyk2_ligands(ROOT / "data" / "tyk2" / "ligands.sdf")
    base = bench_settings(quick)
    y = ligands["p_activity"].to_numpy()
    rows = []
    for kind in [*base.model_kinds, "mean_baseline", "cv_choice"]:
        settings = base if kind == "cv_choice" else base.model_copy(update={"model_kinds": [kind]})
        prediction, chosen = np.empty(len(y)), []
        start = time.perf_counter()
        for i in range(len(y)):
            model = train_activity_model(ligands.drop(index=i), settings)
            prediction[i] = predict_activity(model, ligands.iloc[[i]])["pred_p_activity"].iloc[0]
            chosen.append(model.kind)
        rows.append({"model": kind, "spearman": float(spearmanr(y, prediction).statistic),
                     "rmse": float(np.sqrt(np.mean((prediction - y) ** 2))),
                     "chosen": ",".join(f"{k}:{chosen.count(k)}" for k in sorted(set(chosen))),
                     "seconds": time.perf_counter() - start})
    rows.append({"model": "_range", "low": float(y.min()), "high": float(y.max())})
    return rows


def print_tyk2(rows: list[dict]) -> None:
    span = next(r for r in rows if r["model"] == "_range")
    rows = [r for r in rows if r["model"] != "_range"]
    print(f"\n2. Tyk2, 16 ligands, leave-one-out (pActivity {span['low']:.1f}-{span['high']:.1f} "
          "from experimental dG)")
    print(f"{'model':19}{'Spearman':>10}{'RMSE':>8}{'seconds':>9}  kinds chosen")
    for r in rows:
        print(f"{r['model']:19}{r['spearman']:>10.2f}{r['rmse']:>8.2f}{r['seconds']:>9.1f}  "
              f"{r['chosen'] if r['model'] == 'cv_choice' else ''}")


def virtual_library(series, n: int):
    """``n`` new series members: the series' own R groups recombined around its core."""
    from chem.generate import enumerate_series_analogs

    return enumerate_series_analogs(series["smiles"].tolist(), FREEWILSON_CORE, extra_rgroups={},
                                    max_candidates=n, seed=0)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def scale_run(series, library_smiles: list[str], quick: bool) -> dict:
    """Section 3 body, run in a fresh process: train on the series, predict the library."""
    from chem.models.predict import predict_activity
    from chem.models.train import train_activity_model

    rss_start = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    model = train_activity_model(series, bench_settings(quick))
    train_wall, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    predictions = predict_activity(model, library_smiles)
    predict_wall, predict_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"n_train": len(series), "model_kind": model.kind, "n_predicted": len(predictions),
            "n_failed": int((predictions["error"] != "").sum()),
            "fraction_in_domain": float(predictions["in_domain"].mean()),
            "train_wall_s": train_wall, "train_cpu_s": train_cpu,
            "predict_wall_s": predict_wall, "predict_cpu_s": predict_cpu,
            "predict_mol_per_s": len(predictions) / predict_wall,
            "rss_after_imports_mb": rss_start,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def print_scale(r: dict) -> None:
    print(f"\n3. Scale: train on {r['n_train']} compounds (CV choice -> {r['model_kind']}), "
          f"predict {r['n_predicted']} library molecules ({r['n_failed']} failed, "
          f"{r['fraction_in_domain']:.0%} in domain)")
    print(f"  train    {r['train_wall_s']:8.1f} s wall {r['train_cpu_s']:8.1f} s CPU")
    print(f"  predict  {r['predict_wall_s']:8.1f} s wall {r['predict_cpu_s']:8.1f} s CPU  "
          f"({r['predict_mol_per_s']:.0f} mol/s)")
    print(f"  peak RSS {r['peak_rss_mb']:8.0f} MB (after imports {r['rss_after_imports_mb']:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes for a smoke run")
    parser.add_argument("--seeds", type=int, default=None, help="split seeds (default 3, quick 1)")
    parser.add_argument("--library", type=int, default=None, help="library size (default 10,000, quick 1,000)")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    parser.add_argument("--skip", nargs="*", default=[], choices=["series", "tyk2", "scale"])
    args = parser.parse_args()
    seeds = list(range(args.seeds or (1 if args.quick else 3)))
    n_library = args.library or (1000 if args.quick else 10000)
    series = load_series()
    bench_series = series.sample(300, random_state=0).reset_index(drop=True) if args.quick else series
    mode = "quick" if args.quick else "full"
    print(f"bench/models.py ({mode}): {len(bench_series)} ChEMBL compounds, seeds {seeds}, "
          f"library {n_library}")
    out: dict = {"mode": mode}
    if "series" not in args.skip:
        results, summary = series_splits(bench_series, args.quick, seeds)
        print_series(summary, len(bench_series), seeds)
        out["series"] = results.to_dict("records")
    if "tyk2" not in args.skip:
        rows = tyk2_loo(args.quick)
        print_tyk2(rows)
        out["tyk2_loo"] = rows
    if "scale" not in args.skip:
        library = virtual_library(series, n_library)["smiles"].tolist()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            scale = pool.apply(scale_run, (series, library, args.quick))
        print_scale(scale)
        out["scale"] = scale
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
