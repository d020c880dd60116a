"""Run a whole screen without Prefect: the stages in order, cached stages reused."""

from __future__ import annotations

import traceback

from moltwin import progress
from moltwin.transient import call_with_retries
from pipeline.config import RunConfig
from pipeline.resume import cached_admet, cached_filter, cached_generate, cached_train_predict
from pipeline.run_context import begin_run, finish_run
from pipeline.stages import (select_for_simulation, stage_rank_and_report, stage_simulate_one,
                             stage_sync_measurements, summarize_simulations)

#: The stages a screen reports progress for, in order (``moltwin.progress``).
SCREEN_STAGES = ("sync", "generate", "filter", "train_predict", "simulate", "admet", "rank_report")


def simulation_line(record: dict) -> str:
    """``ejm_31: ok`` / ``ejm_31: failed (reason)``: one finished simulation, for progress lines."""
    status = record.get("status", "?")
    why = f" ({record.get('reason_code')})" if status != "ok" and record.get("reason_code") else ""
    return f"{record.get('compound_id', '?')}: {status}{why}"


def simulate_each(ctx, items: list[dict]) -> list[dict]:
    """The simulation stage without Prefect: one ligand after another, each reported."""
    progress.begin_items("simulate", len(items))
    records = []
    for item in items:
        records.append(call_with_retries(lambda item=item: stage_simulate_one(ctx, item)))
        progress.item_done("simulate", simulation_line(records[-1]))
    return records


def run_screen(config: RunConfig, db_url: str) -> dict:
    """Run every stage in order without Prefect (same outputs as the Prefect flow)."""
    ctx = begin_run(config, db_url)
    try:
        sync = stage_sync_measurements(ctx)
        progress.stage("sync", sync)
        gen = cached_generate(ctx)  # the cached_* stages reuse earlier runs' outputs (pipeline.resume)
        progress.stage("generate", gen)
        filt = cached_filter(ctx)
        progress.stage("filter", filt)
        train = cached_train_predict(ctx)
        progress.stage("train_predict", train)
        records = simulate_each(ctx, select_for_simulation(ctx))
        progress.stage("simulate", f"{sum(r.get('status') == 'ok' for r in records)}/{len(records)} ok")
        admet = cached_admet(ctx)
        progress.stage("admet", admet)
        result = stage_rank_and_report(ctx, records, train)
        progress.stage("rank_report", result)
    except Exception as exc:
        finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
        raise
    return finish_run(ctx, "completed", {"sync": sync, "generate": gen, "filter": filt, "model": train,
                                         "admet": admet, "simulations": summarize_simulations(records),
                                         **result})