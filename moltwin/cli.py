"""``moltwin`` command line. Heavy imports live inside the commands so ``--help`` is instant.

Exit codes: 0 ok, 1 the run failed (or committed with some invalid rows), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="MolTwin: the digital twin of a compound series. "
                  "Generate, filter, predict, simulate, sync assays, rank and report.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
assays_app = typer.Typer(help="Upload and inspect assay measurements.", no_args_is_help=True)
models_app = typer.Typer(help="Train, evaluate and use activity models.", no_args_is_help=True)
db_app = typer.Typer(help="Inspect and migrate the twin store.", no_args_is_help=True)
app.add_typer(assays_app, name="assays")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

DbOpt = typer.Option(None, "--db", help="Twin store: database URL or SQLite path "
                     "(default: $MOLTWIN_DB, else ./moltwin.db).")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def _fail(exc: BaseException) -> None:
    from moltwin.errors import MolTwinError

    if isinstance(exc, MolTwinError):
        typer.echo(f"moltwin: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code)
    raise exc


def _emit(payload: object, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


@app.command()
def demo(db: Optional[str] = DbOpt,
         results_dir: Path = typer.Option(Path("results"), help="Where run folders are written."),
         no_prefect: bool = typer.Option(False, "--no-prefect", help="Call the stages directly, without Prefect."),
         as_json: bool = JsonOpt) -> None:
    """Run the screen job on the bundled Tyk2 demo (assay sync, generate, filter, model, MD, rank, report)."""
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
        from moltwin.config import load_config
        from lab_sync.store import resolve_db_url

        cfg = load_config(config, overrides)
        db_url = resolve_db_url(db)
        if no_prefect:
            from moltwin.stages import run_screen

            summary = run_screen(cfg, db_url)
        else:
            import os

            # Prefect's telemetry insert races its own SQLite at ephemeral start-up ("database is locked").
            os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            from flows.screen import screen_flow

            summary = screen_flow(config=cfg, db_url=db_url)
    except Exception as exc:  # noqa: BLE001 - mapped to exit codes in _fail
        _fail(exc)
        return
    _emit(summary, as_json, f"run {summary['run_id']} {summary['status']}: report at {summary['report_html']}")
    if summary["status"] != "completed":
        raise typer.Exit(1)


@app.command()
def report(run: str = typer.Argument("latest", help="Run id, or 'latest'."),
           results_dir: Path = typer.Option(Path("results"), help="Folder holding run folders."),
           as_json: bool = JsonOpt) -> None:
    """Re-write the HTML/CSV/Parquet/SDF report of a finished run from its stored tables."""
    try:
        from moltwin.stages import rewrite_report

        paths = rewrite_report(results_dir, run)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _emit(paths, as_json, f"report written: {paths['html']}")


@app.command()
def simulate(protein: Path = typer.Option(..., "--protein", help="Protein PDB file."),
             ligands: Path = typer.Option(..., "--ligands", help="Ligands: SDF with 3D poses, or .smi/.csv with SMILES."),
             reference_ligand: Optional[Path] = typer.Option(None, "--reference-ligand", help="Posed reference ligand(s) SDF for MCS placement of SMILES input."),
             length_ps: Optional[float] = typer.Option(None, "--length-ps", help="Production length in ps."),
             platform: str = typer.Option("auto", "--platform", help="auto|CUDA|OpenCL|CPU|Reference"),
             out: Path = typer.Option(..., "--out", help="Output folder."),
             as_json: bool = JsonOpt) -> None:
    """Simulate protein–ligand complexes with OpenMM; one results row per ligand (failures included)."""
    try:
        from moltwin.simulate_cmd import simulate_files

        table = simulate_files(protein, ligands, reference_ligand, length_ps, platform, out)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    ok = int((table["status"] == "ok").sum())
    _emit(table.to_dict("records"), as_json, f"{ok}/{len(table)} ligands simulated; results in {out}/simulations.csv")
    if ok == 0:
        raise typer.Exit(1)


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
        _fail(exc)
        return
    lines = [f"{rep.filename}: {rep.status}; {rep.n_valid} valid rows, {rep.n_invalid} invalid rows"
             + (f"; upload {rep.upload_id}" if rep.upload_id else "")]
    lines += [f"  row {e.row}, column '{e.column}', value '{e.value}': {e.reason}" for e in rep.errors[:200]]
    lines += [f"  note: {n}" for n in rep.notes]
    _emit(rep.to_dict(), as_json, "\n".join(lines))
    raise typer.Exit(rep.exit_code)


@assays_app.command("list")
def assays_list(project: Optional[str] = typer.Option(None, "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """List uploads (newest first)."""
    try:
        from lab_sync.store import open_store

        df = open_store(db).read_table("uploads", project).sort_values("uploaded_at", ascending=False)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    cols = ["upload_id", "project", "filename", "uploader", "uploaded_at", "n_valid", "n_invalid", "status"]
    _emit(df[cols].to_dict("records"), as_json, df[cols].to_string(index=False) if len(df) else "no uploads")


@assays_app.command("show")
def assays_show(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                as_json: bool = JsonOpt) -> None:
    """Show aggregated measurements (replicates combined on the log scale)."""
    try:
        from lab_sync.aggregate import aggregate_measurements
        from lab_sync.store import open_store

        agg = aggregate_measurements(open_store(db).read_table("measurements", project))
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _emit(agg.to_dict("records"), as_json, agg.to_string(index=False) if len(agg) else "no measurements")


@models_app.command("evaluate")
def models_evaluate(data: Path = typer.Option(..., "--data", help="CSV with structures and activities."),
                    smiles_col: str = typer.Option("smiles", "--smiles-col"),
                    target_col: str = typer.Option(..., "--target-col", help="Activity column on the p-scale (e.g. pIC50)."),
                    split: str = typer.Option("scaffold", "--split", help="scaffold|random|time"),
                    date_col: Optional[str] = typer.Option(None, "--date-col", help="Date column for --split time."),
                    id_col: Optional[str] = typer.Option(None, "--id-col"),
                    qualifier_col: Optional[str] = typer.Option(None, "--qualifier-col", help="Column with = < > for censored values."),
                    as_json: bool = JsonOpt) -> None:
    """Train every model kind on a split of any CSV and score it: RMSE, MAE, R², Spearman, interval coverage."""
    if split not in {"scaffold", "random", "time"}:
        typer.echo("moltwin: error: --split must be scaffold, random or time", err=True)
        raise typer.Exit(2)
    try:
        from moltwin.models_cmd import evaluate

        rows = evaluate(data, smiles_col, target_col, split, date_col, id_col, qualifier_col)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    import pandas as pd

    _emit(rows, as_json, pd.DataFrame(rows).to_string(index=False))


@models_app.command("train")
def models_train(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                 as_json: bool = JsonOpt) -> None:
    """Train the project's activity model on its measurements and add it to the registry."""
    try:
        from lab_sync.store import open_store
        from moltwin.models_cmd import train

        info = train(open_store(db), project)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _emit(info, as_json, f"model {info['model_id']} ({info['model_kind']}) trained on {info['n_train']} compounds")


@models_app.command("predict")
def models_predict(model_id: str = typer.Option(..., "--model-id"),
                   infile: Path = typer.Option(..., "--in", help="Molecules: .smi, .sdf or .csv."),
                   outfile: Optional[Path] = typer.Option(None, "--out", help="Write predictions (.csv or .parquet)."),
                   project: Optional[str] = typer.Option(None, "--project", help="Also record them in this project's ledger."),
                   db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Predict activity ± calibrated intervals and the applicability domain for a molecule file."""
    try:
        from lab_sync.store import open_store
        from moltwin.models_cmd import predict

        preds = predict(open_store(db) if project else None, project, model_id, infile, outfile)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _emit(preds.to_dict("records"), as_json, preds.to_string(index=False))


@models_app.command("list")
def models_list(as_json: bool = JsonOpt) -> None:
    """List the models in the registry (newest first)."""
    try:
        from chem.models.registry import list_models
        from moltwin.paths import models_dir

        table = list_models(models_dir())
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _emit(table.to_dict("records"), as_json, table.to_string(index=False) if len(table) else "no models")


@db_app.command("info")
def db_info(db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Show the store's URL, schema version and row counts."""
    try:
        from lab_sync import schema
        from lab_sync.store import open_store

        store = open_store(db)
        info = {"url": store.url, "schema_version": store.schema_version(),
                "counts": {t: store.count(t) for t in schema.metadata.tables if t != "schema_version"}}
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    _emit(info, as_json, "\n".join([f"url: {info['url']}", f"schema version: {info['schema_version']}"]
                                   + [f"{k}: {v}" for k, v in info["counts"].items()]))


@db_app.command("migrate")
def db_migrate(db: Optional[str] = DbOpt) -> None:
    """Create the store or bring its schema up to date."""
    try:
        from lab_sync.store import open_store

        store = open_store(db, migrate=False)
        applied = store.migrate()
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
        return
    typer.echo(f"applied migrations: {applied or 'none'}; schema version {store.schema_version()}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
