"""The ``dmta_cycle`` Prefect flow: take in the lab's new results, then sync → re-rank →
propose the next batch → report.

One design-make-test-analyse turn of the twin: the assay files of the batch just tested
are uploaded (each validated row by row, one transaction per file, a correction may
supersede an earlier upload), then the ``sync_assays`` flow runs as a subflow (retrain,
re-predict, prediction ledger, re-rank, next batch, report) and the proposed batch is
published as an artifact for the chemists who make it. An unusable file (empty, binary, no
required column, unknown ``supersedes``) stops the cycle before the sync; invalid rows inside a
usable file are quarantined and the rest is committed, as with ``moltwin assays upload``.
Generating new analogs is the ``screen`` flow's job and is not part of this cycle.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.sync_assays import SyncAssaysParams, artifact_key, sync_assays_flow
from moltwin.settings_base import StrictModel


class AssayFileParam(StrictModel):
    """One assay file of the cycle."""

    path: Path = Field(..., description="Assay CSV (long format).")
    assay: str | None = Field(None, description="Assay id for rows without one.")
    supersedes: str | None = Field(None, description="Upload id this file corrects.")


class DmtaCycleParams(StrictModel):
    """Parameters of one ``dmta_cycle`` run."""

    project: str = Field(..., min_length=1)
    db_url: str = Field(..., description="Twin store URL.")
    assay_files: list[AssayFileParam] = Field(default_factory=list, description="New results to upload first.")
    uploader: str = Field("dmta_cycle", description="Recorded as the uploader of the files.")
    results_dir: Path | None = None
    config_path: Path | None = Field(None, description="Run config YAML (default: the project's latest run's).")
    overrides: list[str] = Field(default_factory=list, description="section.field=value overrides.")
    next_batch_size: int | None = Field(None, ge=1, description="Compounds to propose (rank.next_batch.size).")


@task(cache_policy=NO_CACHE, task_run_name="upload-{item.path.name}")
def upload_assays(project: str, db_url: str, item: AssayFileParam, uploader: str) -> dict:
    from lab_sync.store import open_store
    from lab_sync.upload import upload_assay_file

    report = upload_assay_file(open_store(db_url), item.path, project, uploader=uploader,
                               default_assay=item.assay, supersedes=item.supersedes)
    out = report.to_dict()
    out["errors"] = out["errors"][:50]
    return out


@flow(name="dmta_cycle", log_prints=True)
def dmta_cycle_flow(params: DmtaCycleParams) -> dict:
    """Upload the cycle's results, bring the twin up to date and propose the next batch."""
    logger = get_run_logger()
    uploads = [upload_assays(params.project, params.db_url, item, params.uploader) for item in params.assay_files]
    for up in uploads:
        logger.info("%s: %s (%d valid, %d invalid rows)", up["filename"], up["status"], up["n_valid"],
                    up["n_invalid"])
    committed = [u["upload_id"] for u in uploads if u["status"] == "committed"]
    overrides = list(params.overrides)
    if params.next_batch_size:
        overrides.append(f"rank.next_batch.size={params.next_batch_size}")
    sync = sync_assays_flow(SyncAssaysParams(
        project=params.project, db_url=params.db_url, upload_id=committed[-1] if committed else None,
        results_dir=params.results_dir, config_path=params.config_path, overrides=overrides))
    batch_file = Path(sync.get("results_dir", "")) / "next_batch.parquet"
    if sync.get("next_batch") and batch_file.is_file():
        import pandas as pd

        cols = ["pick", "compound_id", "smiles", "activity_p", "activity_sd", "reason"]
        batch = pd.read_parquet(batch_file)
        create_table_artifact(key=artifact_key("next-batch", params.project),
                              table=batch[[c for c in cols if c in batch]].round(2).to_dict("records"),
                              description=f"Proposed next batch ({sync['run_id']})")
    return {"project": params.project, "uploads": uploads, "sync_run_id": sync["run_id"],
            "status": sync["status"], "next_batch": sync.get("next_batch", []),
            "ranking_changes": sync.get("ranking_changes", []), "ledger": sync.get("ledger", []),
            "report_html": sync.get("report_html", "")}
