"""The run report's context, and re-writing a finished run's report from its tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from moltwin.provenance import code_version
from pipeline.run_context import RunContext, input_hashes, read_table


def report_context(ctx: RunContext, train_info: dict, notes: list[str],
                    previous: pd.DataFrame | None = None, previous_run_id: str = ""):
    """The report's context (provenance, funnel, model, failures, next batch) from the run folder."""
    from lab_sync.store import utcnow
    from ranking.report import ModelSummary, ReportContext, count_failures

    cfg = ctx.config
    return ReportContext(
        project_name=cfg.project, run_id=ctx.run_id, created_at=utcnow(), config_hash=cfg.config_hash(),
        code_version=code_version(), core=cfg.target.core_smiles,
        funnel=read_table(ctx, "funnel").to_dict("records"),
        model=ModelSummary(model_id=train_info.get("model_id", ""), cv_metrics=train_info.get("cv_metrics", {}),
                           n_train=train_info.get("n_train", 0)),
        failure_counts=count_failures(read_table(ctx, "failures")), next_batch=read_table(ctx, "next_batch"),
        notes=notes, input_hashes=input_hashes(cfg), settings=cfg.rank, previous_ranked=previous,
        previous_run_id=previous_run_id, search_roots=[Path.cwd()])


def rewrite_report(results_dir: Path, run: str) -> dict:
    """Re-write a finished run's report from its stored Parquet tables."""
    from moltwin.errors import BadInputError
    from ranking.report import write_report

    results_dir = Path(results_dir)
    if run == "latest":
        runs = list(results_dir.glob("*/summary.json"))
        if not runs:
            raise BadInputError("no finished run found", file=str(results_dir))
        run_dir = max(runs, key=lambda p: p.stat().st_mtime).parent
    else:
        run_dir = results_dir / run
    if not (run_dir / "summary.json").is_file() or not (run_dir / "report_context.json").is_file():
        raise BadInputError(f"run '{run}' has no finished report tables", file=str(run_dir))
    summary = json.loads((run_dir / "summary.json").read_text())
    saved = json.loads((run_dir / "report_context.json").read_text())
    cfg = json.loads((run_dir / "config.json").read_text())["config"]
    ctx = RunContext(summary["run_id"], str(run_dir), "", json.dumps(cfg))
    previous_id = saved.get("previous_run_id", "")
    previous_file = run_dir.parent / previous_id / "ranked_candidates.parquet"
    previous = pd.read_parquet(previous_file) if previous_id and previous_file.is_file() else None
    paths = write_report(read_table(ctx, "ranked_candidates"), run_dir,
                         report_context(ctx, saved["model"], saved["notes"], previous, previous_id))
    return {"run_id": ctx.run_id, "html": str(paths.html)}
