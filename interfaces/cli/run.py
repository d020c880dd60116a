"""Commands that run the screen job and its report: demo, screen, report."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import DbOpt, JsonOpt, app, emit, fail


@app.command()
def demo(db: Optional[str] = DbOpt,
         results_dir: Path = typer.Option(Path("results"), help="Where run folders are written."),
         no_prefect: bool = typer.Option(False, "--no-prefect", help="Call the stages directly, without Prefect."),
         as_json: bool = JsonOpt) -> None:
    """Run the screen job on the bundled Tyk2 demo (assay sync, generate, filter, model, MD, rank, report)."""
    try:
        from lab_sync.store import open_store

        open_store(db)  # the demo may start a new twin; every other command needs `moltwin db init`
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    screen(config=None, overrides=[f"results_dir={results_dir}"], db=db, no_prefect=no_prefect,
           as_json=as_json)


@app.command()
def screen(config: Optional[Path] = typer.Option(None, "--config", "-c", help="Run config YAML (default: the Tyk2 demo)."),
           overrides: list[str] = typer.Option([], "--set", help="Override a config field: section.field=value (repeatable)."),
           db: Optional[str] = DbOpt,
           no_prefect: bool = typer.Option(False, "--no-prefect", help="Call the stages directly, without Prefect."),
           as_json: bool = JsonOpt) -> None:
    """Screen a series: generate → filter → predict → simulate → rank → report."""
    try:
        from pipeline.config import check_screen_config, load_config
        from lab_sync.store import open_existing_store, resolve_db_url

        from moltwin import progress
        from pipeline.screen import SCREEN_STAGES

        cfg = check_screen_config(load_config(config, overrides), config)
        db_url = resolve_db_url(db)
        open_existing_store(db_url)
        with progress.to_stderr("moltwin screen", n_stages=len(SCREEN_STAGES)):
            summary = _run_screen(cfg, db_url, no_prefect)
    except Exception as exc:  # noqa: BLE001 - mapped to exit codes in _fail
        fail(exc)
        return
    emit(summary, as_json, f"run {summary['run_id']} {summary['status']}: report at {summary['report_html']}")
    if summary["status"] != "completed":
        raise typer.Exit(1)


def _run_screen(cfg, db_url: str, no_prefect: bool) -> dict:
    if no_prefect:
        from pipeline.screen import run_screen

        return run_screen(cfg, db_url)
    from flows.local_server import local_prefect

    # First run on a machine: Prefect's database is created before its server starts,
    # and the server gets more than Prefect's default 20 s to come up.
    with local_prefect():
        from flows.screen import screen_flow

        return screen_flow(config=cfg, db_url=db_url)


@app.command()
def report(run: str = typer.Argument("latest", help="Run id, or 'latest'."),
           results_dir: Path = typer.Option(Path("results"), help="Folder holding run folders."),
           as_json: bool = JsonOpt) -> None:
    """Re-write the HTML/CSV/Parquet/SDF report of a finished run from its stored tables."""
    try:
        from pipeline.report import rewrite_report

        paths = rewrite_report(results_dir, run)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(paths, as_json, f"report written: {paths['html']}")
