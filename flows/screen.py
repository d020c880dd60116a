"""The ``screen`` Prefect flow: sync → generate → filter → train/predict → simulate → rank → report.

Tasks are thin wrappers over :mod:`moltwin.stages`; they pass a small JSON-able
:class:`~moltwin.stages.RunContext` and return small dicts, never RDKit Mols.
Bulk tables live as Parquet under ``results/<run_id>/``. One task per simulation.
"""

from __future__ import annotations

import traceback

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from moltwin import stages
from moltwin.config import RunConfig

# Chemistry failures are records inside the results, not retries; only I/O-ish steps retry.
_task = task(cache_policy=NO_CACHE)


@_task
def sync_measurements(ctx: stages.RunContext) -> dict:
    return stages.stage_sync_measurements(ctx)


@_task
def generate(ctx: stages.RunContext) -> dict:
    return stages.stage_generate(ctx)


@_task
def standardize_and_filter(ctx: stages.RunContext) -> dict:
    return stages.stage_filter(ctx)


@_task
def train_and_predict(ctx: stages.RunContext) -> dict:
    return stages.stage_train_predict(ctx)


@_task
def select_for_simulation(ctx: stages.RunContext) -> list[dict]:
    return stages.select_for_simulation(ctx)


@task(cache_policy=NO_CACHE, task_run_name="simulate-{item[compound_id]}")
def simulate_ligand(ctx: stages.RunContext, item: dict) -> dict:
    return stages.stage_simulate_one(ctx, item)


@_task
def rank_and_report(ctx: stages.RunContext, sim_records: list[dict], train_info: dict) -> dict:
    return stages.stage_rank_and_report(ctx, sim_records, train_info)


def _publish_artifacts(project: str, summary: dict) -> None:
    key = project.lower().replace("_", "-").replace(".", "-")
    decisions = ", ".join(f"{k}: {v}" for k, v in summary.get("decisions", {}).items())
    sims = summary.get("simulations", [])
    ok = sum(s["status"] == "ok" for s in sims)
    create_markdown_artifact(key=f"screen-summary-{key}", description="Screen run summary", markdown=(
        f"# Screen {summary['run_id']}\n\n"
        f"- candidates generated: {summary['generate']['n_candidates']}\n"
        f"- kept after filters: {summary['filter']['n_kept']} (rejected {summary['filter']['n_rejected']}, "
        f"failed {summary['filter']['n_failed']})\n"
        f"- model: {summary['model']['model_id']} ({summary['model']['model_kind']}, "
        f"n_train={summary['model']['n_train']})\n"
        f"- simulations: {ok}/{len(sims)} ok\n- decisions: {decisions}\n"
        f"- report: {summary['report_html']}\n"))
    create_table_artifact(key=f"ranked-candidates-{key}", table=summary.get("top", []),
                          description="Top candidates")
    create_link_artifact(key=f"screen-report-{key}", link=f"file://{summary['report_html']}",
                         link_text="HTML report")


@flow(name="screen", log_prints=True)
def screen_flow(config: RunConfig, db_url: str, run_id: str | None = None) -> dict:
    """Screen a series and write the ranked candidate report.

    Parameters
    ----------
    config
        The validated run configuration (saved into the run folder).
    db_url
        Twin store URL.
    run_id
        Optional run id (default: a new ``screen-<time>-<hex>``).
    """
    logger = get_run_logger()
    ctx = stages.begin_run(config, db_url, run_id=run_id)
    logger.info("run %s writing to %s", ctx.run_id, ctx.run_dir)
    try:
        sync = sync_measurements(ctx)
        gen = generate(ctx)
        filt = standardize_and_filter(ctx)
        train = train_and_predict(ctx)
        items = select_for_simulation(ctx)
        # One task per simulation; on the CPU they run one after the other (each uses all cores).
        records = [simulate_ligand(ctx, item) for item in items]
        result = rank_and_report(ctx, records, train)
    except Exception as exc:
        stages.finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
        raise
    summary = stages.finish_run(ctx, "completed", {
        "sync": sync, "generate": gen, "filter": filt, "model": train,
        "simulations": stages.summarize_simulations(records), **result})
    _publish_artifacts(config.project, summary)
    return summary
