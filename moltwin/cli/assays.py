"""moltwin assays: upload, list and show assay measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from moltwin.cli import DbOpt, JsonOpt, app, emit, fail

assays_app = typer.Typer(help="Upload and inspect assay measurements.", no_args_is_help=True)
app.add_typer(assays_app, name="assays")


@assays_app.command("upload")
def assays_upload(file: Path = typer.Argument(..., help="Assay CSV (long format, one measurement per row)."),
                  project: str = typer.Option(..., "--project", help="Project name."),
                  assay: Optional[str] = typer.Option(None, "--assay", help="Assay id for rows without one."),
                  mapping: Optional[Path] = typer.Option(None, "--mapping", help="YAML {file header: canonical column}."),
                  uploader: str = typer.Option("cli", "--uploader", help="Who uploads (recorded)."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
                  db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Validate an assay file row by row and commit its valid rows (exit 0 all ok, 1 some invalid, 2 nothing committed)."""
    try:
        from lab_sync.store import open_store
        from lab_sync.upload import upload_assay_file
        from moltwin.errors import BadInputError

        col_map = None
        if mapping:
            import yaml

            try:
                col_map = yaml.safe_load(mapping.read_text())
            except (OSError, yaml.YAMLError) as exc:
                raise BadInputError(f"cannot read the mapping: {exc}", file=str(mapping)) from exc
            if not isinstance(col_map, dict):
                raise BadInputError("the mapping must be a YAML mapping {file header: column}", file=str(mapping))
        rep = upload_assay_file(open_store(db), file, project, uploader=uploader, default_assay=assay,
                                mapping=col_map, dry_run=dry_run)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    lines = [f"{rep.filename}: {rep.status}; {rep.n_valid} valid rows, {rep.n_invalid} invalid rows"
             + (f"; upload {rep.upload_id}" if rep.upload_id else "")]
    lines += [f"  row {e.row}, column '{e.column}', value '{e.value}': {e.reason}" for e in rep.errors[:200]]
    lines += [f"  note: {n}" for n in rep.notes]
    emit(rep.to_dict(), as_json, "\n".join(lines))
    raise typer.Exit(rep.exit_code)


@assays_app.command("list")
def assays_list(project: Optional[str] = typer.Option(None, "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """List uploads (newest first)."""
    try:
        from lab_sync.store import open_store

        df = open_store(db).read_table("uploads", project).sort_values("uploaded_at", ascending=False)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    cols = ["upload_id", "project", "filename", "uploader", "uploaded_at", "n_valid", "n_invalid", "status"]
    emit(df[cols].to_dict("records"), as_json, df[cols].to_string(index=False) if len(df) else "no uploads")


@assays_app.command("show")
def assays_show(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """Show aggregated measurements (replicates combined on the log scale)."""
    try:
        from lab_sync.aggregate import aggregate_measurements
        from lab_sync.store import open_store

        agg = aggregate_measurements(open_store(db).read_table("measurements", project))
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(agg.to_dict("records"), as_json, agg.to_string(index=False) if len(agg) else "no measurements")
