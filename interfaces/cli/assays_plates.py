"""moltwin assays upload-plate / plates / curves / accept-plate / mask-well: raw plate data to potencies."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import DbOpt, JsonOpt, emit, fail
from interfaces.cli.assays import assays_app
from interfaces.cli.upload_report import print_upload, sync_after_upload, sync_line


def _fmt(v, spec=".3g") -> str:
    return "-" if v is None or v != v else format(v, spec)


@assays_app.command("upload-plate")
def assays_upload_plate(
        file: Path = typer.Argument(..., help="Plate-reader export: a well-level table, or 8x12 / 16x24 signal grids."),
        project: str = typer.Option(..., "--project", help="Project name."),
        plate_map: Optional[Path] = typer.Option(None, "--plate-map", help="CSV giving each well's type, compound and concentration (for grid exports)."),
        assay: Optional[str] = typer.Option(None, "--assay", help="Assay id for plates without one."),
        mapping: Optional[str] = typer.Option(None, "--mapping", help="'FILE HEADER=column,...' or a YAML file {file header: column}."),
        accept_plate: list[str] = typer.Option([], "--accept-plate", help="Use this plate's curves although its Z' is below the threshold (repeatable)."),
        z_prime_min: float = typer.Option(0.5, "--z-prime-min", help="Plates with a lower Z' are flagged and not used."),
        uploader: str = typer.Option("cli", "--uploader", help="Who uploads (recorded)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate, QC and fit; write nothing."),
        no_sync: bool = typer.Option(False, "--no-sync", help="Do not update the twin after the commit."),
        db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Normalise plates to their controls, QC them (Z'), fit dose-response curves and store the potencies.

    Exit 0 all ok, 1 committed with bad wells or failed plates, 2 nothing committed."""
    try:
        from lab_sync.plates.plate_upload import upload_plate_file
        from lab_sync.plates.settings import PlateSettings
        from lab_sync.header_vocabulary import parse_mapping_option
        from lab_sync.store import open_existing_store

        store = open_existing_store(db)
        rep = upload_plate_file(store, file, project, plate_map=plate_map, default_assay=assay,
                                mapping=parse_mapping_option(mapping) if mapping else None, dry_run=dry_run, accept_plates=set(accept_plate),
                                uploader=uploader, settings=PlateSettings(z_prime_min=z_prime_min))
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    details = [f"  plate {p['plate_id']}: Z' {_fmt(p['z_prime'], '.2f')}, signal window "
               f"{_fmt(p['signal_window'], '.1f')}, {p['status']}" for p in rep.plates]
    details += [f"  {c['compound_id']} ({c['plate_id']}): {c['curve_class']}"
                + (f" IC50 {c['qualifier']} {c['ic50_nm']:.3g} nM (pIC50 {c['p_ic50']:.2f})" if c["ic50_nm"] else "")
                + ("" if c["used"] else " [not used]") + (f" [{', '.join(c['flags'])}]" if c["flags"] else "")
                for c in rep.curves]
    print_upload(rep, f"{rep.filename}: {rep.status}; {rep.n_wells} wells, {rep.n_invalid} bad; {len(rep.plates)} "
                 f"plate(s), {len(rep.curves)} curve(s)", details, store=store, project=project, no_sync=no_sync,
                 as_json=as_json)


@assays_app.command("plates")
def assays_plates(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                  as_json: bool = JsonOpt) -> None:
    """List the project's plates with Z', signal window and QC status."""
    try:
        from lab_sync.plates.plate_views import plate_table
        from lab_sync.store import open_existing_store

        df = plate_table(open_existing_store(db), project)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(df.to_dict("records"), as_json, df.to_string(index=False) if len(df) else "no plates")


@assays_app.command("curves")
def assays_curves(project: str = typer.Option(..., "--project"),
                  history: bool = typer.Option(False, "--history", help="Include superseded fits."),
                  db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """List curve fits: class, IC50 with its 95 % CI, Hill, R², masked wells."""
    try:
        from lab_sync.plates.plate_views import curve_fit_table
        from lab_sync.store import open_existing_store

        df = curve_fit_table(open_existing_store(db), project, active_only=not history)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    shown = df.drop(columns=["wells"])
    emit(df.to_dict("records"), as_json, shown.to_string(index=False) if len(df) else "no curve fits")


def _refit_output(results: list[dict], store, project: str, no_sync: bool, as_json: bool, head: str) -> None:
    payload: dict = {"refits": results}
    if results and not no_sync:
        payload["sync"] = sync_after_upload(store, project, None)
    lines = [head] + [f"  {r['compound_id']}: fit {r['superseded_fit']} -> {r['fit_id']}: {r['curve_class']}"
                      + (f" IC50 {r['qualifier']} {r['ic50_nm']:.3g} nM" if r["ic50_nm"] else "") for r in results]
    if "sync" in payload:
        lines.append(sync_line(payload["sync"]))
    emit(payload, as_json, "\n".join(lines))


@assays_app.command("accept-plate")
def assays_accept_plate(plate: str = typer.Argument(..., help="Plate id (or plate uid) that failed QC."),
                        project: str = typer.Option(..., "--project"),
                        uploader: str = typer.Option("cli", "--uploader", help="Who accepts (recorded)."),
                        no_sync: bool = typer.Option(False, "--no-sync"),
                        db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Accept a plate below the Z' threshold: its curves are re-fitted, used, and the earlier fits kept as history."""
    try:
        from lab_sync.plates.plate_store import accept_plate
        from lab_sync.store import open_existing_store

        store = open_existing_store(db)
        results = accept_plate(store, project, plate, user=uploader)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    _refit_output(results, store, project, no_sync, as_json, f"plate {plate} accepted: {len(results)} curve(s) re-fitted")


@assays_app.command("mask-well")
def assays_mask_well(plate: str = typer.Argument(..., help="Plate id (or plate uid)."),
                     wells: list[str] = typer.Argument(..., help="Well(s) to mask, e.g. C07."),
                     project: str = typer.Option(..., "--project"),
                     reason: str = typer.Option(..., "--reason", help="Why (recorded with the mask)."),
                     unmask: bool = typer.Option(False, "--unmask", help="Take a hand-made mask off instead."),
                     uploader: str = typer.Option("cli", "--uploader"),
                     no_sync: bool = typer.Option(False, "--no-sync"),
                     db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Mask sample wells by hand and re-fit their curves (the earlier fits are superseded, kept as history)."""
    try:
        from lab_sync.plates.plate_store import mask_wells
        from lab_sync.store import open_existing_store

        store = open_existing_store(db)
        results = mask_wells(store, project, plate, wells, reason, user=uploader, unmask=unmask)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    _refit_output(results, store, project, no_sync, as_json, f"{len(results)} curve(s) re-fitted")
