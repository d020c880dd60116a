"""Run a whole screen without Prefect: the stages in order, cached stages reused."""

from __future__ import annotations

import traceback

from moltwin.transient import call_with_retries
from pipeline.config import RunConfig
from pipeline.resume import cached_admet, cached_filter, cached_generate, cached_train_predict
from pipeline.run_context import begin_run, finish_run
from pipeline.stages import (select_for_simulation, stage_rank_and_report, stage_simulate_one,
                             stage_sync_measurements, summarize_simulations)


def run_screen(config: RunConfig, db_url: str) -> dict:
    """Run every stage in order without Prefect (same outputs as the Prefect flow)."""
    ctx = begin_run(config, db_url)
    try:
        sync = stage_sync_measurements(ctx)
        gen = cached_generate(ctx)  # the cached_* stages reuse earlier runs' outputs (pipeline.resume)
        filt = cached_filter(ctx)
        train = cached_train_predict(ctx)
        records = [call_with_retries(lambda item=item: stage_simulate_one(ctx, item))
                   for item in select_for_simulation(ctx)]
        admet = cached_admet(ctx)
        result = stage_rank_and_report(ctx, records, train)
    except Exception as exc:
        finish_run(ctx, "failed", {}, error="".join(traceback.format_exception(exc)))
        raise
    return finish_run(ctx, "completed", {"sync": sync, "generate": gen, "filter": filt, "model": train,
                                         "admet": admet, "simulations": summarize_simulations(records),
                                         **result})