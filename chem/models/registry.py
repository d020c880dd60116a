"""A directory of trained activity models: ``<registry_dir>/<model_id>/{model.joblib, metadata.json}``.

The model id is deterministic (training-data hash + settings hash), so
retraining on the same data with the same settings writes to the same folder;
``metadata.json`` keeps the creation time and provenance. ``model.joblib`` holds
the scikit-learn estimator, numpy arrays and the out-of-fold table only (no RDKit Mols, no pydantic
objects: settings are stored as plain JSON). joblib files are pickles, so load
only registries you trust.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import joblib
import pandas as pd

from chem.models.settings import ModelSettings
from chem.models.trained_model import MODEL_FORMAT_VERSION, TrainedModel
from moltwin.errors import ModelError

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


def save_model(model: TrainedModel, registry_dir: str | Path) -> Path:
    """Write a model to ``<registry_dir>/<model_id>/``, replacing an earlier copy of the same id.

    Parameters
    ----------
    model
        Trained model to store.
    registry_dir
        Registry root; created if missing.

    Returns
    -------
    pathlib.Path
        The model's folder.
    """
    root = Path(registry_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / model.model_id
    payload = {"format_version": model.format_version, "model_id": model.model_id, "kind": model.kind,
               "estimator": model.estimator, "settings": model.settings.model_dump(mode="json"),
               "train_bits_packed": model.train_bits_packed, "train_smiles": list(model.train_smiles),
               "calibration_residuals": model.calibration_residuals,
               "calibration_sigmas": model.calibration_sigmas, "calibration_bins": model.calibration_bins,
               "domain_bin_edges": list(model.domain_bin_edges),
               "ad_similarity_cutoff": model.ad_similarity_cutoff, "sigma_floor": model.sigma_floor,
               "out_of_fold": model.out_of_fold, "baseline_residuals": model.baseline_residuals}
    # Write into a sibling temp folder and swap it in, so a crash never leaves half a model.
    staging = Path(tempfile.mkdtemp(prefix=f".{model.model_id}-", dir=root))
    try:
        joblib.dump(payload, staging / MODEL_FILE, compress=3)
        (staging / METADATA_FILE).write_text(json.dumps(model.metadata, indent=2, sort_keys=True))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def load_model(registry_dir: str | Path, model_id: str) -> TrainedModel:
    """Read a model written by :func:`save_model`.

    Raises
    ------
    moltwin.errors.ModelError
        The model folder or its files are missing, or were written in another format version.
    """
    folder = Path(registry_dir) / model_id
    model_file, metadata_file = folder / MODEL_FILE, folder / METADATA_FILE
    if not model_file.is_file() or not metadata_file.is_file():
        known = ", ".join(list_models(registry_dir)["model_id"]) if Path(registry_dir).is_dir() else ""
        raise ModelError(f"no model {model_id!r} in registry {registry_dir} (known: {known or 'none'})")
    payload = joblib.load(model_file)
    if payload.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(f"model {model_id} has format version {payload.get('format_version')}; this "
                         f"code reads version {MODEL_FORMAT_VERSION}; retrain it")
    return TrainedModel(model_id=payload["model_id"], kind=payload["kind"], estimator=payload["estimator"],
                        settings=ModelSettings.model_validate(payload["settings"]),
                        train_bits_packed=payload["train_bits_packed"], train_smiles=payload["train_smiles"],
                        calibration_residuals=payload["calibration_residuals"],
                        calibration_sigmas=payload["calibration_sigmas"],
                        calibration_bins=payload["calibration_bins"],
                        domain_bin_edges=payload["domain_bin_edges"],
                        ad_similarity_cutoff=payload["ad_similarity_cutoff"], sigma_floor=payload["sigma_floor"],
                        out_of_fold=payload["out_of_fold"],
                        metadata=json.loads(metadata_file.read_text()),
                        baseline_residuals=payload["baseline_residuals"])


def list_models(registry_dir: str | Path) -> pd.DataFrame:
    """One row per stored model: id, kind, creation time, training size and hashes (newest first)."""
    columns = ["model_id", "model_kind", "created_at", "n_train", "n_censored",
               "training_data_sha256", "settings_sha256", "path"]
    rows = []
    root = Path(registry_dir)
    for metadata_file in sorted(root.glob(f"*/{METADATA_FILE}")) if root.is_dir() else []:
        if metadata_file.parent.name.startswith("."):
            continue
        meta = json.loads(metadata_file.read_text())
        rows.append({**{c: meta.get(c) for c in columns[:-1]}, "path": str(metadata_file.parent)})
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("created_at", ascending=False, ignore_index=True) if rows else table
