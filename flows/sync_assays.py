"""The ``sync_assays`` Prefect flow: after an upload, retrain → re-predict → ledger → re-rank → report.

Thin tasks over :mod:`pipeline.twin_update` (which reuses the screen stages); the same
steps run without Prefect in :func:`pipeline.twin_update.sync_project`. Syncs of one
project are serialized by the project's sync lock, held by the flow for its whole run.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from lab_sync.store import open_store
from pipeline import run_context, stages, twin_update
from moltwin.settings_base import StrictModel

_task = task(cache_policy=NO_CACHE)


class SyncAssaysParams(StrictModel):
    """Parameters of one ``sync_assays`` run."""

    project: str = Field(..., min_length=1, description="Project whose twin is brought up to date.")
    db_url: str = Field(..., description="Twin store URL.")
    upload_id: str | None = Field(None, description="The upload that triggered the sync (recorded).")
    results_dir: Path | None = Field(None, description="Run folders go here (default: the project's config).")
    config_path: Path | None = Field(None, description="Run config YAML (default: the project's latest run's).")
    overrides: list[str] = Field(default_factory=list, description="section.field=value overrides.")


def load_settings(params: SyncAssaysParams):
    """The config given by ``config_path`` + ``overrides`` (None: use the project's latest run's)."""
    from pipeline.config import load_config

    if params.config_path is not None:
        return load_config(params.config_path, params.overrides)
    if params.overrides:
        cfg = twin_update.resolve_config(open_store(params.db_url), params.project)
        return twin_update.apply_overrides(cfg, params.overrides) if cfg else None
    return None


@_task
def collect_inputs(ctx: stages.RunContext, base_dir: str | None) -> dict:
    return twin_update.stage_collect_inputs(ctx, base_dir)


@_task
def retrain_and_predict(ctx: stages.RunContext) -> dict:
    return twin_update.stage_retrain_predict(ctx)


@_task
def score_ledger(ctx: stages.RunContext) -> list[dict]:
    return twin_update.stage_score_ledger(ctx)


@_task
def rank_and_report(ctx: stages.RunContext, train_info: dict) -> dict:
    return stages.stage_rank_and_report(ctx, twin_update.stored_simulations(ctx), train_info)


@_task
def compare_rankings(ctx: stages.RunContext, previous_run_id: str | None) -> list[dict]:
    return twin_update.stage_compare_rankings(ctx, previous_run_id)


def artifact_key(kind: str, project: str) -> str:
    return f"{kind}-" + "".join(c if c.isalnum() else "-" for c in project.lower())


def publish_sync_artifacts(summary: dict) -> None:
    """Ledger and ranking changes as Prefect artifacts (shown in the UI)."""
    project = summary.get("project", "")
    if summary.get("ledger"):
        create_table_artifact(key=artifact_key("prediction-ledger", project), table=summary["ledger"],
                              description="Prospective error of each model on compounds measured later")
    changes = summary.get("ranking_changes") or []
    lines = [f"# Sync {summary['run_id']} ({summary['status']})", ""]
    lines += [f"- {c['compound_id']}: {c['detail']}" for c in changes[:20]] or ["- no ranking changes"]
    lines += [f"- note: {n}" for n in summary.get("notes", [])]
    create_markdown_artifact(key=artifact_key("ranking-changes", project), markdown="\n".join(lines),
                             description="What changed in the ranking")


@flow(name="sync_assays", log_prints=True)
def sync_assays_flow(params: SyncAssaysParams) -> dict:
    """Bring a project's twin up to date after an upload; returns the run summary."""
    logger = get_run_logger()
    store = open_store(params.db_url)
    with twin_update.project_sync_lock(store, params.project):
        ctx, plan = twin_update.begin_sync(params.db_url, params.project, load_settings(params),
                                           params.results_dir)
        if ctx is None and "starter" in plan:  # a new project with a core and a protein
            summary = twin_update.first_twin_screen(params.db_url, plan["starter"], params.upload_id)
            publish_sync_artifacts(summary)
            return summary
        if ctx is None:
            logger.warning(plan["note"])
            summary = twin_update.record_skipped_sync(params.db_url, params.project, params.upload_id,
                                                  plan["note"], Path(params.results_dir or "results"))
            publish_sync_artifacts(summary)
            return summary
        logger.info("sync run %s writing to %s", ctx.run_id, ctx.run_dir)
        try:
            inputs = collect_inputs(ctx, plan["base_dir"])
            model = retrain_and_predict(ctx)
            ledger = score_ledger(ctx)
            ranked = changes = None
            if not model.get("skipped"):
                ranked = rank_and_report(ctx, model)
                changes = compare_rankings(ctx, plan["previous_run_id"])
        except Exception as exc:
            run_context.finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
            raise
        summary = twin_update.finish_sync(ctx, plan, params.upload_id, inputs, model, ledger, ranked, changes)
    publish_sync_artifacts(summary)
    return summary
