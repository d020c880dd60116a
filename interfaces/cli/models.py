"""moltwin models: evaluate, train, predict, list."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import DbOpt, JsonOpt, app, emit, fail
from moltwin.csv_export import write_safe_csv

models_app = typer.Typer(help="Train, evaluate and use activity models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("evaluate")
def models_evaluate(data: Path = typer.Option(..., "--data", help="CSV with structures and activities."),
                    smiles_col: str = typer.Option("smiles", "--smiles-col"),
                    target_col: str = typer.Option(..., "--target-col", help="Activity column on the p-scale (e.g. pIC50)."),
                    split: str = typer.Option("scaffold", "--split", help="scaffold|random|time"),
                    date_col: Optional[str] = typer.Option(None, "--date-col", help="Date column for --split time."),
                    id_col: Optional[str] = typer.Option(None, "--id-col"),
                    qualifier_col: Optional[str] = typer.Option(None, "--qualifier-col", help="Column with = < > for censored values."),
                    core: Optional[str] = typer.Option(None, "--core", help="Series core with numbered sites, e.g. 'c1cc([*:1])ccc1[*:2]': adds the Free-Wilson (ridge on R groups) baseline."),
                    chemprop_epochs: int = typer.Option(0, "--chemprop-epochs", min=0, help="Also train Chemprop v2 for this many epochs (series of >= 1,000 compounds; reported separately, never chosen)."),
                    as_json: bool = JsonOpt) -> None:
    """Train every model kind, the selected procedure and the 1-NN/mean baselines (Free-Wilson with --core, Chemprop with --chemprop-epochs) on a split of any CSV; score RMSE, MAE, R², Spearman, interval coverage (progress on stderr)."""
    if split not in {"scaffold", "random", "time"}:
        typer.echo("moltwin: error: --split must be scaffold, random or time", err=True)
        raise typer.Exit(2)
    try:
        from interfaces.cli.models_cmd import evaluate
        from moltwin import progress

        with progress.to_stderr("moltwin models evaluate"):
            rows = evaluate(data, smiles_col, target_col, split, date_col, id_col, qualifier_col, core,
                            chemprop_epochs)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    import pandas as pd

    emit(rows, as_json, pd.DataFrame(rows).to_string(index=False))


@models_app.command("train")
def models_train(project: str = typer.Option(..., "--project"), db: Optional[str] = DbOpt,
                 as_json: bool = JsonOpt) -> None:
    """Train the project's activity model on its measurements and add it to the registry."""
    try:
        from lab_sync.store import open_existing_store
        from interfaces.cli.models_cmd import train

        info = train(open_existing_store(db), project)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(info, as_json, f"model {info['model_id']} ({info['model_kind']}) trained on {info['n_train']} compounds")


@models_app.command("predict")
def models_predict(model_id: str = typer.Option(..., "--model-id"),
                   infile: Path = typer.Option(..., "--in", help="Molecules: .smi, .sdf or .csv."),
                   outfile: Optional[Path] = typer.Option(None, "--out", help="Write predictions (.csv or .parquet)."),
                   project: Optional[str] = typer.Option(None, "--project", help="Also record them in this project's ledger."),
                   db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Predict activity ± calibrated intervals and the applicability domain for a molecule file."""
    try:
        from lab_sync.store import open_existing_store
        from interfaces.cli.models_cmd import predict

        preds = predict(open_existing_store(db) if project else None, project, model_id, infile, outfile)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(preds.to_dict("records"), as_json, preds.to_string(index=False))


@models_app.command("list")
def models_list(as_json: bool = JsonOpt) -> None:
    """List the models in the registry (newest first)."""
    try:
        from chem.models.registry import list_models
        from moltwin.paths import models_dir

        table = list_models(models_dir())
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    emit(table.to_dict("records"), as_json, table.to_string(index=False) if len(table) else "no models")


@models_app.command("ledger")
def models_ledger(project: str = typer.Option(..., "--project"),
                  entries: bool = typer.Option(False, "--entries", help="One row per scored prediction instead of per cycle."),
                  db: Optional[str] = DbOpt, as_json: bool = JsonOpt) -> None:
    """Score the prediction ledger: per model (cycle), the error of predictions made before the measurement arrived."""
    try:
        from lab_sync.ledger import ledger_entries, score_ledger
        from lab_sync.store import open_existing_store

        store = open_existing_store(db)
        table = ledger_entries(store, project) if entries else score_ledger(store, project)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    import json

    rows = json.loads(table.to_json(orient="records", date_format="iso"))
    shown = table.drop(columns=["run_ids"], errors="ignore")
    for col in shown.columns:
        if str(shown[col].dtype).startswith("datetime"):
            shown[col] = shown[col].dt.strftime("%Y-%m-%d %H:%M:%S")
        elif shown[col].dtype.kind == "f":
            shown[col] = shown[col].round(3)
    emit(rows, as_json, shown.to_string(index=False) if len(table) else f"no predictions in project {project}")


@models_app.command("admet")
def models_admet(infile: Path = typer.Option(..., "--in", help="Molecules: .smi, .sdf, .csv or .parquet."),
                 outfile: Optional[Path] = typer.Option(None, "--out", help="Write the table (.csv or .parquet)."),
                 as_json: bool = JsonOpt) -> None:
    """Predict ADMET with admet-ai: raw values, DrugBank-approved percentiles and 0-1 risks (admet_*)."""
    try:
        import pandas as pd

        from chem.admet import predict_admet
        from chem.io import read_molecules

        table = predict_admet(pd.concat(list(read_molecules(infile)), ignore_index=True))
        if outfile:
            outfile.parent.mkdir(parents=True, exist_ok=True)
            (table.to_parquet(outfile, index=False) if outfile.suffix == ".parquet"
             else write_safe_csv(table, outfile))
    except Exception as exc:  # noqa: BLE001  (AdmetUnavailableError: exit 1, "ADMET not predicted: ...")
        fail(exc)
        return
    risks = ["compound_id", *[c for c in table.columns if c.startswith("admet_")], "admetai_error"]
    emit(table.to_dict("records"), as_json, table[risks].round(2).to_string(index=False))
