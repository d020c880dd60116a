"""The ``screen`` Prefect flow: sync → generate → filter → train/predict → simulate → rank → report.

Tasks are thin wrappers over :mod:`pipeline.stages`; they pass a small JSON-able
:class:`~pipeline.stages.RunContext` and return small dicts, never RDKit Mols.
Bulk tables live as Parquet under ``results/<run_id>/``.

- Resume: ``generate``, ``filter``, ``train_predict`` and ``admet`` go through the content-keyed stage
  cache of :mod:`pipeline.resume` (the same one ``--no-prefect`` uses), and simulations reuse
  their content-keyed run directories and checkpoints, so a re-run after a crash or a
  cancel redoes only what is missing. Prefect's own result cache stays off (``NO_CACHE``):
  it would pickle task results and key on task inputs rather than on content.
- Fan-out: filter chunks (``screen.batch_size`` molecules each) and simulations (one task
  per ligand) are mapped over the task runner of :mod:`flows.runners` (one thread by
  default; a Dask LocalCluster or an existing Dask cluster on request). With
  ``MOLTWIN_SIMULATE_DEPLOYMENT`` set, each simulation is instead a run of the
  ``simulate`` deployment on the GPU work pool (:mod:`flows.simulate`).
- Retries: only transient failures, with exponential backoff (:mod:`flows.retry`).
"""

from __future__ import annotations

import os
import traceback

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.concurrency import gpu_slot
from moltwin import progress
from flows.retry import transient_retry_options
from flows.run_hooks import mark_store_run, run_id_for_flow_run
from flows.runners import task_runner_from_env
from pipeline import filter_fanout, resume, run_context, stages
from pipeline.config import RunConfig
from pipeline.screen import simulation_line

SIMULATE_DEPLOYMENT_ENV = "MOLTWIN_SIMULATE_DEPLOYMENT"

# Chemistry failures are records inside the results; only transient failures (I/O, GPU,
# database connections) are retried, and only in steps that touch them.
_task = task(cache_policy=NO_CACHE)
_io_task = task(cache_policy=NO_CACHE, **transient_retry_options(backoff_factor_s=2.0))


@_io_task
def sync_measurements(ctx: stages.RunContext) -> dict:
    return stages.stage_sync_measurements(ctx)


@_task
def generate(ctx: stages.RunContext) -> dict:
    return resume.cached_generate(ctx)


@_io_task
def split_filter(ctx: stages.RunContext) -> int:
    return filter_fanout.split_filter_chunks(ctx)


@task(cache_policy=NO_CACHE, task_run_name="filter-chunk-{index}",
      **transient_retry_options(backoff_factor_s=2.0))
def filter_chunk(ctx: stages.RunContext, index: int) -> dict:
    return filter_fanout.filter_chunk(ctx, index)


@_io_task
def combine_filter(ctx: stages.RunContext, n_chunks: int) -> dict:
    return stages.finish_filter(ctx, filter_fanout.combine_filter_chunks(ctx, n_chunks))


def _fan_out_filter(ctx: stages.RunContext) -> dict:
    """The filter stage as chunk tasks (called on a stage-cache miss)."""
    n_chunks = split_filter(ctx)
    filter_chunk.map(unmapped(ctx), list(range(n_chunks))).result()
    return combine_filter(ctx, n_chunks)


@_task
def train_and_predict(ctx: stages.RunContext) -> dict:
    return resume.cached_train_predict(ctx)


@_task
def select_for_simulation(ctx: stages.RunContext) -> list[dict]:
    return stages.select_for_simulation(ctx)


@task(cache_policy=NO_CACHE, task_run_name="simulate-{item[compound_id]}",
      **transient_retry_options(backoff_factor_s=10.0))
def simulate_ligand(ctx: stages.RunContext, item: dict) -> dict:
    with gpu_slot():  # gpu:<WORKER_ID>, strict, only on configured GPU workers
        return stages.stage_simulate_one(ctx, item)


def _simulate_all(ctx: stages.RunContext, items: list[dict]) -> list[dict]:
    if not items:
        return []
    deployment = os.environ.get(SIMULATE_DEPLOYMENT_ENV, "").strip()
    if deployment:
        from flows.simulate import simulate_on_deployment

        return simulate_on_deployment(ctx, items, deployment)
    futures = simulate_ligand.map(unmapped(ctx), items)
    progress.begin_items("simulate", len(items))
    records = []
    for future in futures:  # in order; each reported as soon as it (and those before it) finished
        records.append(future.result())
        progress.item_done("simulate", simulation_line(records[-1]))
    return records


@_task
def predict_admet(ctx: stages.RunContext) -> dict:
    return resume.cached_admet(ctx)


@_io_task
def rank_and_report(ctx: stages.RunContext, sim_records: list[dict], train_info: dict) -> dict:
    return stages.stage_rank_and_report(ctx, sim_records, train_info)


def _publish_artifacts(project: str, summary: dict) -> None:
    key = project.lower().replace("_", "-").replace(".", "-")
    decisions = ", ".join(f"{k}: {v}" for k, v in summary.get("decisions", {}).items())
    sims = summary.get("simulations", [])
    ok = sum(s["status"] == "ok" for s in sims)
    reused = ", ".join(f"{k}" for k in ("generate", "filter", "model", "admet")
                       if summary.get(k, {}).get("cache") == "hit") or "none"
    create_markdown_artifact(key=f"screen-summary-{key}", description="Screen run summary", markdown=(
        f"# Screen {summary['run_id']}\n\n"
        f"- candidates generated: {summary['generate']['n_candidates']}\n"
        f"- kept after filters: {summary['filter']['n_kept']} (rejected {summary['filter']['n_rejected']}, "
        f"failed {summary['filter']['n_failed']})\n"
        f"- model: {summary['model']['model_id']} ({summary['model']['model_kind']}, "
        f"n_train={summary['model']['n_train']})\n"
        f"- simulations: {ok}/{len(sims)} ok\n- decisions: {decisions}\n"
        f"- stages reused from the cache: {reused}\n"
        f"- report: {summary['report_html']}\n"))
    create_table_artifact(key=f"ranked-candidates-{key}", table=summary.get("top", []),
                          description="Top candidates")
    create_link_artifact(key=f"screen-report-{key}", link=f"file://{summary['report_html']}",
                         link_text="HTML report")


@flow(name="screen", log_prints=True, task_runner=task_runner_from_env(),
      # A cancelled or crashed screen says so in the twin store (never "running" forever).
      on_cancellation=[mark_store_run("cancelled")], on_crashed=[mark_store_run("crashed")])
def screen_flow(config: RunConfig, db_url: str | None = None, run_id: str | None = None) -> dict:
    """Screen a series and write the ranked candidate report.

    Parameters
    ----------
    config
        The validated run configuration (saved into the run folder).
    db_url
        Twin store URL (default: ``$MOLTWIN_DB``, else ``./moltwin.db``).
    run_id
        Optional run id (default: ``screen-<flow run created>-<flow run id>``, which the
        cancellation/crash hooks find again from the flow run).
    """
    from prefect.context import get_run_context

    from lab_sync.store import resolve_db_url

    logger = get_run_logger()
    run_id = run_id or run_id_for_flow_run(get_run_context().flow_run)
    ctx = run_context.begin_run(config, resolve_db_url(db_url), run_id=run_id)
    logger.info("run %s writing to %s", ctx.run_id, ctx.run_dir)
    try:
        sync = sync_measurements(ctx)
        progress.stage("sync", sync)
        gen = generate(ctx)
        progress.stage("generate", gen)
        filt = resume.cached_filter(ctx, compute=_fan_out_filter)
        progress.stage("filter", filt)
        train = train_and_predict(ctx)
        progress.stage("train_predict", train)
        items = select_for_simulation(ctx)
        records = _simulate_all(ctx, items)
        progress.stage("simulate", f"{sum(r.get('status') == 'ok' for r in records)}/{len(records)} ok")
        admet = predict_admet(ctx)
        progress.stage("admet", admet)
        for name, out in (("generate", gen), ("filter", filt), ("train_predict", train), ("admet", admet)):
            logger.info("stage %s: cache %s (%s)", name, out.get("cache"), out.get("cache_key"))
        result = rank_and_report(ctx, records, train)
        progress.stage("rank_report", result)
    except Exception as exc:
        run_context.finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
        raise
    summary = run_context.finish_run(ctx, "completed", {
        "sync": sync, "generate": gen, "filter": filt, "model": train, "admet": admet,
        "simulations": stages.summarize_simulations(records), **result})
    _publish_artifacts(config.project, summary)
    return summary
