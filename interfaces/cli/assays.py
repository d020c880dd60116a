"""moltwin assays: upload, list and show assay measurements."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import DbOpt, JsonOpt, app, emit, fail
from interfaces.cli.upload_report import print_upload, sync_after_upload, sync_line

assays_app = typer.Typer(help="Upload and inspect assay measurements.", no_args_is_help=True)
app.add_typer(assays_app, name="assays")


@assays_app.command("upload")
def assays_upload(file: Path = typer.Argument(..., help="Assay CSV (long format, one measurement per row)."),
                  project: str = typer.Option(..., "--project", help="Project name."),
                  assay: Optional[str] = typer.Option(None, "--assay", help="Assay id for rows without one."),
                  mapping: Optional[str] = typer.Option(None, "--mapping", help="'FILE HEADER=column,...' or a YAML file {file header: column}."),
                  uploader: str = typer.Option("cli", "--uploader", help="Who uploads (recorded)."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
                  supersedes: Optional[str] = typer.Option(None, "--supersedes", help="Upload id this corrected file replaces (its rows are kept as history)."),
                  replace_same_name: bool = typer.Option(False, "--replace-same-name", help="Supersede the project's earlier upload with this file name."),
                  no_sync: bool = typer.Option(False, "--no-sync", help="Do not update the twin (retrain, ledger, re-rank) after the commit."),
                  confirm_replicates: bool = typer.Option(False, "--confirm-replicates", help="Count rows equal to earlier uploads' measurements as true replicates (default: stored but not counted)."),
                  db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Validate an assay file row by row and commit its valid rows (exit 0 all ok, 1 some invalid, 2 nothing committed).

    After a commit the twin updates itself unless --no-sync: a sync_assays deployment run when PREFECT_API_URL is set, else a direct sync."""
    try:
        from lab_sync.store import open_existing_store
        from lab_sync.supersede import live_upload_with_name
        from lab_sync.upload import upload_assay_file
        from moltwin.errors import BadInputError

        from lab_sync.header_vocabulary import parse_mapping_option

        col_map = parse_mapping_option(mapping) if mapping else None
        store = open_existing_store(db)
        if supersedes and replace_same_name:
            raise BadInputError("give --supersedes or --replace-same-name, not both", field="--supersedes")
        if replace_same_name:
            from moltwin.provenance import file_sha256

            supersedes = live_upload_with_name(store, project, file.name, file_sha256(file) if file.is_file() else None)
        rep = upload_assay_file(store, file, project, uploader=uploader, default_assay=assay,
                                mapping=col_map, dry_run=dry_run, supersedes=supersedes,
                                confirm_replicates=confirm_replicates)
        if replace_same_name and not supersedes:
            rep.notes.append(f"--replace-same-name: no earlier upload named {file.name} with other content; "
                             "nothing superseded")
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    print_upload(rep, f"{rep.filename}: {rep.status}; {rep.n_valid} valid rows, {rep.n_invalid} invalid rows", [],
                 store=store, project=project, no_sync=no_sync, as_json=as_json)


@assays_app.command("list")
def assays_list(project: Optional[str] = typer.Option(None, "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """List uploads (newest first)."""
    try:
        from lab_sync.store import open_existing_store

        df = open_existing_store(db).read_table("uploads", project).sort_values("uploaded_at", ascending=False)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    cols = ["upload_id", "project", "filename", "uploader", "uploaded_at", "n_valid", "n_invalid", "status",
            "superseded_by"]
    emit(df[cols].to_dict("records"), as_json, df[cols].to_string(index=False) if len(df) else "no uploads")


@assays_app.command("show")
def assays_show(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """Show aggregated measurements (replicates combined on the log scale)."""
    try:
        from lab_sync.aggregate import aggregate_measurements
        from lab_sync.store import open_existing_store

        from lab_sync.plates.plate_views import curve_classes_by_compound

        store = open_existing_store(db)
        agg = aggregate_measurements(store.read_table("measurements", project))
        classes = curve_classes_by_compound(store, project)
        if len(classes):  # potencies fitted from plates carry their curve classes
            agg = agg.merge(classes, on=["compound_id", "assay_id"], how="left").fillna({"curve_classes": ""})
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(agg.to_dict("records"), as_json, agg.to_string(index=False) if len(agg) else "no measurements")


@assays_app.command("supersede")
def assays_supersede(old: str = typer.Argument(..., help="Upload id of the earlier (wrong) upload."),
                     by: str = typer.Option(..., "--by", help="Upload id of the committed correction."),
                     project: str = typer.Option(..., "--project"),
                     no_sync: bool = typer.Option(False, "--no-sync", help="Do not update the twin afterwards."),
                     db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Mark an already committed upload as the correction of an earlier one (history kept)."""
    try:
        from lab_sync.store import open_existing_store
        from lab_sync.supersede import supersede_committed

        store = open_existing_store(db)
        n = supersede_committed(store, project, old, by)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    payload: dict = {"superseded": old, "by": by, "n_deactivated": n}
    if not no_sync:
        payload["sync"] = sync_after_upload(store, project, by)
    text = f"upload {old} superseded by {by}: {n} measurements kept as history, no longer counted"
    emit(payload, as_json, text + ("\n" + sync_line(payload["sync"]) if "sync" in payload else ""))


@assays_app.command("sync")
def assays_sync(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """Bring the twin up to date with the project's measurements now (retrain, ledger, re-rank, report)."""
    try:
        from lab_sync.store import open_existing_store

        store = open_existing_store(db)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    result = sync_after_upload(store, project, None)
    emit(result, as_json, sync_line(result))
    if result.get("mode") == "failed" or result.get("status") == "failed":
        raise typer.Exit(1)


@assays_app.command("confirm-replicate")
def assays_confirm_replicate(upload_id: str = typer.Argument(..., help="Upload holding the flagged row."),
                             row: int = typer.Option(..., "--row", help="File line of the flagged row."),
                             project: str = typer.Option(..., "--project", help="Project name."),
                             by: str = typer.Option("cli", "--by", help="Who confirms (recorded)."),
                             db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Count a suspected duplicate (same measurement as an earlier upload) as a true replicate."""
    try:
        from lab_sync.duplicates import confirm_replicate
        from lab_sync.store import open_existing_store

        confirm_replicate(open_existing_store(db), project, upload_id, row, confirmed_by=by)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit({"upload_id": upload_id, "row": row, "confirmed_by": by}, as_json,
         f"row {row} of upload {upload_id} now counts as a replicate")


@assays_app.command("date-order")
def assays_date_order(order: str = typer.Argument(..., help="ymd (ISO only, default), dmy or mdy."),
                      project: str = typer.Option(..., "--project", help="Project name."),
                      db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Set how the project reads NN/NN/YYYY test dates (impossible dates are always row errors)."""
    try:
        from lab_sync.store import open_existing_store
        from lab_sync.project_settings import set_project_date_order

        set_project_date_order(open_existing_store(db), project, order)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit({"project": project, "date_order": order}, as_json, f"{project}: test dates read as {order}")
