"""Activity-model benchmarks: held-out accuracy and coverage, Tyk2 nested CV, prediction scale, evaluate time.

Printed figures:

1. ChEMBL sulfonamide series (``data/chembl_freewilson``, 1,017 compounds, pActivity):
   Bemis-Murcko scaffold splits (20 % held out, ``--seeds`` seeds, default 5; ``--splits
   random`` adds random splits), per candidate kind (GP, random forest, kNN), the
   ``selected`` procedure (kind by CV, intervals by nested CV: what a user gets) and the
   1-NN and mean baselines: RMSE, Spearman, share of held-out measurements inside the
   80 % / 90 % intervals, mean 90 % width, 80 % coverage and RMSE per similarity tercile
   of the test compounds. One CV run per training split (the held-out figures are
   averaged over seeds instead).
2. The 16 Tyk2 ligands (``data/tyk2/ligands.sdf``, experimental dG -> pActivity): the
   default training (10 repeats of nested 5-fold CV): RMSE and Spearman per kind, the
   nested selection and the baselines (mean ± sd over repeats), out-of-fold coverage,
   the largest pred_std on the ligands and on 1,017 compounds of another target, against
   1.5 x SD(y), and how many predictions equal a measured value.
   The Free-Wilson baseline (ridge on R groups of ``FREEWILSON_FW_CORE``) is a row of its own.
3. Scale: train the default model on all 1,017 compounds, predict a 10,000-molecule
   virtual library (the series' R groups recombined); optionally (``--stream N``) stream N
   molecules through chunked prediction from memory and sample RSS per chunk. The 1 M run
   streamed from disk is ``bench/predict_stream.py``. Fresh process.
4. ``moltwin models evaluate`` on ~4,000 compounds (series + enumerated analogs, target
   Crippen logP), scaffold split, default kinds: wall and CPU time.
5. Chemprop v2 for fixed epochs (``--chemprop-epochs``, default 30) vs the GP on one scaffold
   split of the series (seed 0), outside the nested selection.

Usage::

    python bench/models.py            # full
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
# The same scaffold with its nitrile position opened as a fourth site, for the Free-Wilson
# baseline: the shipped scaffold (nitrile fixed) matches 69 % of the series, this one 99.8 %.
FREEWILSON_FW_CORE = "O=S(=O)([*:1])c1cc([*:2])c(O[*:3])c([*:4])c1"


def load_series():
    from chem.models.example_series import load_freewilson_series

    return load_freewilson_series(FREEWILSON / "CHEMBL2321810.smi", FREEWILSON / "CHEMBL2321810_act.csv")


def bench_settings(quick: bool, seed: int = 0):
    """Default model settings, except one CV run (no repeats) inside each held-out split.

    The held-out figures are already averaged over split seeds, so repeating the
    inner cross-validation of each training split 10 times would cost 10x for
    calibration residuals the 800-compound training sets have enough of.
    """
    from chem.models.settings import ModelSettings

    if quick:
        return ModelSettings(n_estimators=50, seed=seed, repeat_below_compounds=0)
    return ModelSettings(seed=seed, repeat_below_compounds=0)


SERIES_METRICS = ["rmse", "spearman", "coverage_80", "coverage_90", "mean_width_90",
                  "coverage_80_sim_tercile_1", "coverage_80_sim_tercile_2", "coverage_80_sim_tercile_3",
                  "rmse_sim_tercile_1", "rmse_sim_tercile_3", "train_seconds"]


def series_splits(series, quick: bool, seeds: list[int], splits: list[str]):
    """Section 1: evaluate every kind, the nested selection and the baselines; mean ± sd over seeds."""
    import pandas as pd

    from chem.models.evaluate import evaluate_models

    rows = []
    for split in splits:
        for seed in seeds:
            start = time.perf_counter()
            table = evaluate_models(series, split, bench_settings(quick, seed), core_smiles=FREEWILSON_FW_CORE)
            table["seed"] = seed
            rows.append(table)
            print(f"  {split} split, seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    results = pd.concat(rows, ignore_index=True)
    summary = results.groupby(["split", "model_kind"], sort=False)[SERIES_METRICS].agg(["mean", "std"])
    chosen = results[results["model_kind"] == "selected"].groupby("split")["chosen_kind"].agg(
        lambda k: ", ".join(f"{v}:{n}" for v, n in k.value_counts().items()))
    return results, summary, chosen.to_dict()


def _fmt(mean: float, sd: float, digits: int = 2) -> str:
    return f"{mean:.{digits}f}" + (f" ± {sd:.{digits}f}" if sd == sd else "")


def print_series(summary, chosen: dict, n_compounds: int, seeds: list[int]) -> None:
    print(f"\n1. ChEMBL series, {n_compounds} compounds, 20 % held out, seeds {seeds} (mean ± sd over seeds)")
    print("   selected = the full procedure (kind by CV, intervals by nested CV); coverage 80 % per "
          "similarity tercile of the test compounds (t1 least similar to training)")
    print(f"{'split':9}{'model':17}{'RMSE':>13}{'Spearman':>13}{'cov 80%':>13}{'cov 90%':>13}"
          f"{'width 90%':>13}{'cov80 t1':>10}{'cov80 t2':>10}{'cov80 t3':>10}{'RMSE t1':>9}{'RMSE t3':>9}"
          f"{'train s':>9}")
    for (split, kind), row in summary.iterrows():
        print(f"{split:9}{kind:17}" + "".join(
            f"{_fmt(row[(m, 'mean')], row[(m, 'std')]):>13}"
            for m in ("rmse", "spearman", "coverage_80", "coverage_90", "mean_width_90"))
            + "".join(f"{row[(m, 'mean')]:>10.2f}" for m in SERIES_METRICS[5:8])
            + "".join(f"{row[(m, 'mean')]:>9.2f}" for m in SERIES_METRICS[8:10])
            + f"{row[('train_seconds', 'mean')]:>9.1f}")
    for split, kinds in chosen.items():
        print(f"  {split}: kind chosen by the selected procedure over seeds: {kinds}")


def tyk2_cv(quick: bool, series) -> dict:
    """Section 2: the demo's 16 Tyk2 ligands: repeated nested CV, baselines, out-of-fold coverage, max sigma."""
    import numpy as np

    from chem.models.example_series import load_tyk2_ligands
    from chem.models.predict import predict_activity
    from chem.models.settings import ModelSettings
    from chem.models.train import train_activity_model

    ligands = load_tyk2_ligands(ROOT / "data" / "tyk2" / "ligands.sdf")
    settings = ModelSettings(n_estimators=50) if quick else ModelSettings()
    start, cpu = time.perf_counter(), time.process_time()
    model = train_activity_model(ligands, settings)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    y = ligands["p_activity"].to_numpy()
    oof = model.out_of_fold
    own = predict_activity(model, ligands)
    far = predict_activity(model, series[["compound_id", "smiles"]])  # another target's series: far away
    return {"kind": model.kind, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "cv_repeats": model.metadata["cv_repeats"],
            "sigma_cap": model.metadata["interval_cap_half_width_p"]["68"],
            "sd_y": float(y.std()), "cv_metrics": model.metadata["cv_metrics"],
            "nested": model.metadata["nested_cv_metrics"],
            "oof_coverage_80": float(np.mean((y >= oof["oof_lower_80"]) & (y <= oof["oof_upper_80"]))),
            "oof_coverage_90": float(np.mean((y >= oof["oof_lower_90"]) & (y <= oof["oof_upper_90"]))),
            "max_sigma_ligands": float(own["pred_std"].max()),
            "max_sigma_far": float(far["pred_std"].max()),
            "fraction_far_in_domain": float(far["in_domain"].mean()),
            "n_identical_to_a_measured_value": int(np.isin(np.round(own["pred_p_activity"], 4),
                                                           np.round(y, 4)).sum())}


def print_tyk2(r: dict) -> None:
    print(f"\n2. Tyk2, 16 ligands (pActivity SD {r['sd_y']:.2f}): nested CV, {r['cv_repeats']} repeats "
          f"(mean ± sd over repeats), training {r['seconds']:.0f} s wall, {r['cpu_seconds']:.1f} s CPU; "
          f"chosen kind on all data: {r['kind']}")
    print(f"{'model':19}{'RMSE':>14}{'Spearman':>14}")
    for kind, m in r["cv_metrics"].items():
        print(f"{kind:19}{_fmt(m['rmse'], m.get('rmse_sd', float('nan'))):>14}"
              f"{_fmt(m['spearman_exact'], m.get('spearman_exact_sd', float('nan'))):>14}")
    n = r["nested"]
    print(f"{'nested selection':19}{_fmt(n['rmse'], n.get('rmse_sd', float('nan'))):>14}"
          f"{_fmt(n['spearman_exact'], n.get('spearman_exact_sd', float('nan'))):>14}"
          f"  kinds chosen in folds: {n['kinds_chosen_in_folds']}")
    print(f"  out-of-fold coverage (first repeat): 80 % {r['oof_coverage_80']:.2f}, 90 % {r['oof_coverage_90']:.2f}")
    print(f"  max pred_std: ligands {r['max_sigma_ligands']:.2f}, 1,017 ChEMBL compounds of another target "
          f"{r['max_sigma_far']:.2f} ({r['fraction_far_in_domain']:.0%} in domain); 1.5 x SD(y) = "
          f"{1.5 * r['sd_y']:.2f}; cap (mean baseline's 68 % half-width) {r['sigma_cap']:.2f}")
    print(f"  predictions equal to a measured value (4 decimals): {r['n_identical_to_a_measured_value']}")


def chemprop_vs_gp(series, epochs: int) -> dict:
    """Section 5: Chemprop v2 for fixed epochs vs the GP on one scaffold split (seed 0), outside the nested choice."""
    from chem.models.evaluate import evaluate_models
    from chem.models.settings import ModelSettings

    settings = ModelSettings(model_kinds=["gaussian_process"], repeat_below_compounds=0, seed=0)
    table = evaluate_models(series, "scaffold", settings, include_selected=False, chemprop_epochs=epochs)
    keep = ["model_kind", "n_train", "n_test", "rmse", "spearman", "coverage_80", "coverage_90", "mean_width_90",
            "train_seconds", "epochs", "seconds_per_epoch", "n_calibration"]
    return {"epochs": epochs, "rows": table[[c for c in keep if c in table.columns]].to_dict("records")}


def print_chemprop(r: dict) -> None:
    print(f"\n5. Chemprop v2 (D-MPNN, {r['epochs']} fixed epochs, 1 CPU thread) vs the GP, one scaffold split "
          "(seed 0); Chemprop trains on 90 % of the training split, the other 10 % (scaffold-held-out) "
          "calibrates its intervals")
    for row in r["rows"]:
        extra = (f"  {row['seconds_per_epoch']:.1f} s/epoch" if row["model_kind"] == "chemprop" else "")
        print(f"  {row['model_kind']:17} n_train {row['n_train']:5}  RMSE {row['rmse']:.2f}  Spearman "
              f"{row['spearman']:.2f}  cov80 {row['coverage_80']:.2f}  cov90 {row['coverage_90']:.2f}  "
              f"width90 {row['mean_width_90']:.2f}  train {row['train_seconds']:.0f} s{extra}")


def virtual_library(series, n: int):
    """``n`` new series members: the series' own R groups recombined around its core."""
    from chem.generate import enumerate_series_analogs

    return enumerate_series_analogs(series["smiles"].tolist(), FREEWILSON_CORE, extra_rgroups={},
                                    max_candidates=n, seed=0)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def scale_run(series, library_smiles: list[str], quick: bool, n_stream: int) -> dict:
    """Section 3 body, run in a fresh process: train on the series, predict the library, then stream.

    The stream predicts ``n_stream`` molecules (the library repeated) through
    :func:`chem.models.predict.iter_predictions` in 10,000-row chunks, keeping only
    per-chunk summaries, and samples RSS after every chunk: flat memory means the
    last sample is close to the first.
    """
    from chem.models.predict import iter_predictions, predict_activity
    from chem.models.train import train_activity_model

    rss_start = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    model = train_activity_model(series, bench_settings(quick))
    train_wall, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    predictions = predict_activity(model, library_smiles)
    predict_wall, predict_cpu = time.perf_counter() - wall, time.process_time() - cpu
    out = {"n_train": len(series), "model_kind": model.kind, "n_predicted": len(predictions),
           "n_failed": int((predictions["error"] != "").sum()),
           "fraction_in_domain": float(predictions["in_domain"].mean()),
           "train_wall_s": train_wall, "train_cpu_s": train_cpu,
           "predict_wall_s": predict_wall, "predict_cpu_s": predict_cpu,
           "predict_mol_per_s": len(predictions) / predict_wall,
           "rss_after_imports_mb": rss_start,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if n_stream:
        def stream():
            for i in range(n_stream):
                yield library_smiles[i % len(library_smiles)]

        rss, n_done, wall = [], 0, time.perf_counter()
        for chunk in iter_predictions(model, list(stream()), chunk_size=10_000):
            n_done += len(chunk)
            rss.append(_rss_mb())
        out.update(n_stream=n_done, stream_wall_s=time.perf_counter() - wall,
                   stream_rss_first_chunk_mb=rss[0], stream_rss_last_chunk_mb=rss[-1],
                   stream_rss_max_mb=max(rss))
    return out


def print_scale(r: dict) -> None:
    print(f"\n3. Scale: train on {r['n_train']} compounds (CV choice -> {r['model_kind']}), "
          f"predict {r['n_predicted']} library molecules ({r['n_failed']} failed, "
          f"{r['fraction_in_domain']:.0%} in domain)")
    print(f"  train    {r['train_wall_s']:8.1f} s wall {r['train_cpu_s']:8.1f} s CPU")
    print(f"  predict  {r['predict_wall_s']:8.1f} s wall {r['predict_cpu_s']:8.1f} s CPU  "
          f"({r['predict_mol_per_s']:.0f} mol/s)")
    print(f"  peak RSS {r['peak_rss_mb']:8.0f} MB (after imports {r['rss_after_imports_mb']:.0f} MB)")
    if r.get("n_stream"):
        print(f"  stream   {r['n_stream']} molecules in 10,000-row chunks: {r['stream_wall_s']:.0f} s "
              f"({r['n_stream'] / r['stream_wall_s']:.0f} mol/s); RSS after first chunk "
              f"{r['stream_rss_first_chunk_mb']:.0f} MB, after last {r['stream_rss_last_chunk_mb']:.0f} MB, "
              f"max {r['stream_rss_max_mb']:.0f} MB (the SMILES list itself included)")


def evaluate_at_scale(series, n_analogs: int) -> dict:
    """Section 4: `moltwin models evaluate` on the series plus enumerated analogs, target Crippen logP.

    The target is computed (no assay has 4,000 measured analogs here): the point is the
    time of the default evaluation at this size, with progress on stderr.
    """
    import subprocess
    import tempfile

    import pandas as pd
    from rdkit import Chem
    from rdkit.Chem import Crippen

    library = virtual_library(series, n_analogs)
    table = pd.concat([series[["compound_id", "smiles"]], library[["compound_id", "smiles"]]],
                      ignore_index=True).drop_duplicates("smiles")
    table["clogp"] = [Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in table["smiles"]]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "analogs.csv"
        table.to_csv(csv, index=False)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "interfaces.cli", "models", "evaluate", "--data", str(csv),
                               "--target-col", "clogp", "--id-col", "compound_id", "--split", "scaffold",
                               "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = json.loads(done.stdout)
    rows = rows.get("data", rows) if isinstance(rows, dict) else rows
    return {"n_compounds": len(table), "wall_s": wall,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "n_progress_lines": len(done.stderr.strip().splitlines()),
            "rows": [{k: r.get(k) for k in ("model_kind", "chosen_kind", "rmse", "coverage_80", "coverage_90",
                                            "train_seconds")} for r in rows]}


def print_evaluate(r: dict) -> None:
    print(f"\n4. moltwin models evaluate, {r['n_compounds']} compounds (series + enumerated analogs, "
          f"target Crippen logP), scaffold split, default kinds: {r['wall_s']:.0f} s wall, "
          f"{r['cpu_s']:.0f} s CPU, {r['n_progress_lines']} progress lines on stderr")
    for row in r["rows"]:
        print(f"  {row['model_kind']:17}{row['chosen_kind']:17} RMSE {row['rmse']:.2f}  cov80 "
              f"{row['coverage_80']:.2f}  cov90 {row['coverage_90']:.2f}  train {row['train_seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes for a smoke run")
    parser.add_argument("--seeds", type=int, default=None, help="split seeds (default 5, quick 1)")
    parser.add_argument("--splits", nargs="*", default=["scaffold"], choices=["scaffold", "random"])
    parser.add_argument("--library", type=int, default=None, help="library size (default 10,000, quick 1,000)")
    parser.add_argument("--stream", type=int, default=None,
                        help="molecules streamed through chunked prediction from memory (default 0; the 1 M "
                             "run from disk is bench/predict_stream.py)")
    parser.add_argument("--analogs", type=int, default=3000, help="enumerated analogs added for section 4")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    parser.add_argument("--chemprop-epochs", type=int, default=30, help="Chemprop epochs for section 5")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["series", "tyk2", "scale", "evaluate", "chemprop"])
    args = parser.parse_args()
    seeds = list(range(args.seeds or (1 if args.quick else 5)))
    n_library = args.library or (1000 if args.quick else 10000)
    n_stream = args.stream or 0
    series = load_series()
    bench_series = series.sample(300, random_state=0).reset_index(drop=True) if args.quick else series
    mode = "quick" if args.quick else "full"
    print(f"bench/models.py ({mode}): {len(bench_series)} ChEMBL compounds, seeds {seeds}, "
          f"library {n_library}, stream {n_stream}")
    out: dict = {"mode": mode}
    if "series" not in args.skip:
        results, summary, chosen = series_splits(bench_series, args.quick, seeds, args.splits)
        print_series(summary, chosen, len(bench_series), seeds)
        out["series"] = results.to_dict("records")
    if "tyk2" not in args.skip:
        tyk2 = tyk2_cv(args.quick, series)
        print_tyk2(tyk2)
        out["tyk2"] = tyk2
    if "scale" not in args.skip:
        library = virtual_library(series, n_library)["smiles"].tolist()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            scale = pool.apply(scale_run, (series, library, args.quick, n_stream))
        print_scale(scale)
        out["scale"] = scale
    if "evaluate" not in args.skip:
        evaluation = evaluate_at_scale(series, args.analogs)
        print_evaluate(evaluation)
        out["evaluate"] = evaluation
    if "chemprop" not in args.skip:
        chemprop = chemprop_vs_gp(series, 3 if args.quick else args.chemprop_epochs)
        print_chemprop(chemprop)
        out["chemprop"] = chemprop
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
