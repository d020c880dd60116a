"""Implementations of ``moltwin models evaluate|train|predict|list``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moltwin.errors import BadInputError
from moltwin.csv_export import write_safe_csv


def read_activity_csv(path: Path, smiles_col: str, target_col: str, id_col: str | None,
                      qualifier_col: str | None, date_col: str | None) -> pd.DataFrame:
    """A user's CSV as the activity table the models expect (``compound_id, smiles, p_activity, qualifier``)."""
    try:
        df = pd.read_csv(path, sep=None, engine="python", dtype=str)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read the CSV: {exc}", file=str(path)) from exc
    for col in filter(None, (smiles_col, target_col, id_col, qualifier_col, date_col)):
        if col not in df.columns:
            raise BadInputError(f"column '{col}' not found; columns are: {', '.join(df.columns)}",
                                file=str(path), row=1, field=col)
    out = pd.DataFrame({
        "compound_id": df[id_col] if id_col else [f"row{i + 2}" for i in range(len(df))],
        "smiles": df[smiles_col],
        "p_activity": pd.to_numeric(df[target_col].str.replace(",", ".", regex=False), errors="coerce"),
        "qualifier": df[qualifier_col].fillna("=") if qualifier_col else "="})
    if date_col:
        out[date_col] = df[date_col]
    return out


def evaluate(data: Path, smiles_col: str, target_col: str, split: str, date_col: str | None,
             id_col: str | None, qualifier_col: str | None, core: str | None = None,
             chemprop_epochs: int = 0) -> list[dict]:
    from chem.models.evaluate import evaluate_models

    table = read_activity_csv(data, smiles_col, target_col, id_col, qualifier_col, date_col)
    if split == "time" and not date_col:
        raise BadInputError("--split time needs --date-col", field="--date-col")
    if chemprop_epochs:
        from chem.models.chemprop_model import chemprop_available

        if not chemprop_available():
            raise BadInputError("--chemprop-epochs needs chemprop v2 (installed with admet-ai)",
                                field="--chemprop-epochs")
    # Progress lines come from moltwin.progress (the command turns reporting on).
    result = evaluate_models(table, split, date_col=date_col, core_smiles=core, chemprop_epochs=chemprop_epochs)
    return result.to_dict("records")


def train(store, project: str) -> dict:
    from chem.models.registry import save_model
    from chem.models.settings import ModelSettings
    from chem.models.train import out_of_fold_summary, train_activity_model
    from lab_sync.twin_records import record_model, series_activities
    from moltwin.paths import models_dir

    table, assay = series_activities(store, project)
    if table.empty:
        raise BadInputError(f"project '{project}' has no measurements; upload assays first", field="--project")
    settings = ModelSettings()
    model = train_activity_model(table.rename(columns={"p_qualifier": "qualifier"}), settings)
    path = save_model(model, models_dir())
    record_model(store, project, model, str(path), settings.model_dump_json())
    return {"model_id": model.model_id, "model_kind": model.kind, "assay": assay, "path": str(path),
            "n_train": int(len(table)), "cv_metrics": out_of_fold_summary(model.metadata)}


def predict(store, project: str | None, model_id: str, infile: Path, outfile: Path | None) -> pd.DataFrame:
    from chem.io import read_molecules
    from chem.models.predict import predict_activity
    from chem.models.registry import load_model
    from lab_sync.twin_records import record_predictions
    from moltwin.paths import models_dir

    model = load_model(models_dir(), model_id)
    table = pd.concat(list(read_molecules(infile)), ignore_index=True)
    preds = predict_activity(model, table[["compound_id", "smiles"]])
    if project:
        record_predictions(store, project, preds, model.model_id)
    if outfile:
        outfile.parent.mkdir(parents=True, exist_ok=True)
        (preds.to_parquet(outfile, index=False) if outfile.suffix == ".parquet"
         else write_safe_csv(preds, outfile))
    return preds
