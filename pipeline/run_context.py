"""Where a run lives: its context, its folder's tables, and its row in the twin store.

Every stage of a screen or of a twin update receives a :class:`RunContext`; the helpers here
open the run (folder, saved config, ``runs`` row), read and write its Parquet tables, and
close it with a summary. Nothing here runs a stage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from moltwin.provenance import code_version, file_sha256, new_run_id
from pipeline.config import RunConfig


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every stage needs to find the run: small, JSON-able, safe to pass to tasks."""

    run_id: str
    run_dir: str
    db_url: str
    config_json: str

    @property
    def config(self) -> RunConfig:
        return RunConfig.model_validate_json(self.config_json)

    @property
    def path(self) -> Path:
        return Path(self.run_dir)

    def to_dict(self) -> dict:
        return asdict(self)


def run_store(ctx: RunContext):
    from lab_sync.store import open_store

    return open_store(ctx.db_url)


def write_table(df: pd.DataFrame, ctx: RunContext, name: str) -> str:
    path = ctx.path / f"{name}.parquet"
    df.to_parquet(path, index=False)
    return str(path)


def read_table(ctx: RunContext, name: str) -> pd.DataFrame:
    path = ctx.path / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def begin_run(config: RunConfig, db_url: str, kind: str = "screen", run_id: str | None = None) -> RunContext:
    """Create the run folder, save the config and record the run as started in the store."""
    from lab_sync.store import open_store
    from pipeline.config import save_config

    run_id = run_id or new_run_id(kind)
    run_dir = (Path(config.results_dir) / run_id).resolve()
    save_config(config, run_dir)
    open_store(db_url).start_run(run_id=run_id, project=config.project, kind=kind,
                                 config_json=config.model_dump_json(), config_hash=config.config_hash(),
                                 code_version=code_version(), results_dir=str(run_dir))
    return RunContext(run_id, str(run_dir), db_url, config.model_dump_json())


def finish_run(ctx: RunContext, status: str, summary: dict, error: str = "") -> dict:
    summary = {"run_id": ctx.run_id, "status": status, "results_dir": ctx.run_dir, **summary}
    summary.setdefault("report_html", "")
    run_store(ctx).finish_run(ctx.run_id, status=status, summary=summary, error=error)
    (ctx.path / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def input_hashes(cfg: RunConfig) -> dict[str, str]:
    files = [f for f in (cfg.target.protein_pdb, cfg.target.reference_ligands_sdf) if f]
    if cfg.measurements_csv:
        files.append(cfg.measurements_csv)
    return {Path(f).name: file_sha256(Path(f))[:16] for f in files}


def completed_runs(store, project: str) -> pd.DataFrame:
    """The project's completed runs, newest first."""
    runs = store.read_table("runs", project)
    return runs[runs["status"] == "completed"].sort_values("started_at", ascending=False)


def previous_ranked_run(store, project: str, exclude: str | None = None) -> str | None:
    """The latest completed run of the project with rankings in the store."""
    ranked = set(store.read_table("rankings", project)["run_id"])
    for run_id in completed_runs(store, project)["run_id"]:
        if run_id in ranked and run_id != exclude:
            return str(run_id)
    return None
