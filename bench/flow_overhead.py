"""Orchestration overhead of the ``screen`` flow: Prefect wall time vs the stages called directly.

Runs the demo screen twice in this process, each time in a fresh twin home and database
with the stage cache off (so both compute everything, MD included):

1. the stage functions of :mod:`pipeline.stages` called one after another (what
   ``moltwin screen --no-prefect`` does), each one timed;
2. the Prefect ``screen`` flow (tasks, state tracking, artifacts, filter chunks mapped
   over the task runner), timed as a whole.

The two alternate ``--repeats`` times (default 2; the first pair also warms up imports,
RDKit catalogs and OpenMM kernels) and the fastest of each is kept. Prints the per-stage
times, their sum, the flow's wall time (and how much of it was inside task runs) and the
overhead ratio (flow wall / sum of stages). The Prefect ephemeral API start-up is timed
separately (a deployment's worker talks to a running server and does not pay it).

    python bench/flow_overhead.py            # the demo as shipped (400 candidates, 3 MD runs)
    python bench/flow_overhead.py --quick    # 40 candidates, 1 short MD run (validation)
    python bench/flow_overhead.py --runner dask --dask-workers 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

QUICK = ["generate.max_candidates=40", "screen.simulate_top_n=1", "screen.batch_size=20",
         "simulate.charge_methods=[mmff94]", "simulate.pose_method=mcs", 'simulate.pose_check="off"',
         "simulate.ligand_protonation=keep", "simulate.minimize_max_iterations=20",
         "simulate.equilibration_steps=10", "simulate.production_steps=40", "simulate.report_interval_steps=10",
         "simulate.checkpoint_interval_steps=20"]


def _fresh_site(root: Path, name: str) -> str:
    os.environ["MOLTWIN_HOME"] = str(root / name / "home")
    return f"sqlite:///{root / name / 'twin.db'}"


def time_direct(config, db_url: str) -> dict[str, float]:
    """Each stage of ``run_screen`` called directly, timed (seconds)."""
    from pipeline import run_context, stages

    times: dict[str, float] = {}

    def timed(name, fn, *args):
        tic = time.perf_counter()
        out = fn(*args)
        times[name] = times.get(name, 0.0) + time.perf_counter() - tic
        return out

    ctx = timed("begin_run", run_context.begin_run, config, db_url)
    timed("sync", stages.stage_sync_measurements, ctx)
    timed("generate", stages.stage_generate, ctx)
    timed("filter", stages.stage_filter, ctx)
    train = timed("train_predict", stages.stage_train_predict, ctx)
    timed("admet", stages.stage_admet, ctx)
    items = timed("select", stages.select_for_simulation, ctx)
    records = [timed("simulate", stages.stage_simulate_one, ctx, item) for item in items]
    print("direct run simulations:", [(r["compound_id"], r["status"], r["reason_code"]) for r in records],
          file=sys.stderr)
    timed("rank_report", stages.stage_rank_and_report, ctx, records, train)
    timed("finish_run", run_context.finish_run, ctx, "completed", {})
    return times


def time_prefect_startup() -> float:
    from prefect import flow

    @flow
    def noop() -> int:
        return 1

    tic = time.perf_counter()
    noop()
    return time.perf_counter() - tic


def _task_seconds(flow_run_id) -> float:
    """Sum of the task runs' own run times (what the stages cost inside the flow)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    runs, page = [], 200  # the server's page limit
    with get_client(sync_client=True) as client:
        while True:
            batch = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=page, offset=len(runs))
            runs += batch
            if len(batch) < page:
                break
    return sum(r.total_run_time.total_seconds() for r in runs)


def time_flow(config, db_url: str, runner: str, dask_workers: int) -> tuple[float, float]:
    """Wall time of the screen flow, and the time spent inside its tasks."""
    from flows.runners import dask_runner
    from flows.screen import screen_flow

    flow = screen_flow if runner == "thread" else screen_flow.with_options(
        task_runner=dask_runner(n_workers=dask_workers))
    tic = time.perf_counter()
    state = flow(config=config, db_url=db_url, return_state=True)
    wall = time.perf_counter() - tic
    summary = state.result()
    if summary["status"] != "completed":
        raise SystemExit(f"screen flow ended {summary['status']}")
    return wall, _task_seconds(state.state_details.flow_run_id)


def _warm_imports() -> None:
    # Import costs (OpenFF alone is ~10 s) would land on whichever run comes first.
    import chem.models.train  # noqa: F401
    import openff.toolkit  # noqa: F401
    import ranking.report  # noqa: F401
    import simulation.run  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small demo: 40 candidates, 1 short MD run")
    parser.add_argument("--runner", choices=["thread", "dask"], default="thread")
    parser.add_argument("--dask-workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="alternating direct/flow pairs (fastest kept)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config override")
    args = parser.parse_args(argv)

    os.environ["MOLTWIN_STAGE_CACHE"] = "off"
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from pipeline.config import DEMO_CONFIG, load_config

    root = Path(tempfile.mkdtemp(prefix="moltwin-overhead-"))
    overrides = [*(QUICK if args.quick else []), *args.overrides, f"results_dir={root / 'results'}"]
    config = load_config(DEMO_CONFIG, overrides)
    _warm_imports()

    startup = time_prefect_startup()
    directs, walls = [], []
    for i in range(args.repeats):
        directs.append(time_direct(config, _fresh_site(root, f"direct{i}")))
        walls.append(time_flow(config, _fresh_site(root, f"flow{i}"), args.runner, args.dask_workers))
    direct = min(directs, key=lambda t: sum(t.values()))
    wall, in_tasks = min(walls)
    total = sum(direct.values())

    print(f"# screen orchestration overhead: demo{' --quick' if args.quick else ''}, runner={args.runner}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'stage':<16}{'direct_s':>10}")
    for name, seconds in direct.items():
        print(f"{name:<16}{seconds:>10.2f}")
    print(f"{'sum of stages':<16}{total:>10.2f}")
    print(f"{'screen flow':<16}{wall:>10.2f}   (Prefect ephemeral API start-up {startup:.1f} s, not included)")
    print(f"{'  inside tasks':<16}{in_tasks:>10.2f}   (task run times as Prefect records them)")
    print(f"{'  outside tasks':<16}{wall - in_tasks:>10.2f}   (orchestration, flow-level code, artifacts)")
    print(f"all direct sums: {', '.join(f'{sum(t.values()):.2f}' for t in directs)}; "
          f"all flow walls: {', '.join(f'{w:.2f}' for w, _ in walls)}")
    print(f"orchestration overhead: {wall - total:+.2f} s, ratio flow/direct = {wall / total:.3f}; "
          f"outside-task share of the flow: {(wall - in_tasks) / wall:.1%}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
