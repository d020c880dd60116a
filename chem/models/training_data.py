"""Check and clean an activity table before training; hash it for provenance."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chem.models.censored import qualifier_directions
from chem.models.features import featurize_smiles
from chem.models.settings import ModelSettings
from moltwin.errors import ModelError

REQUIRED_COLUMNS = ("smiles", "p_activity")

# Fewest exact (=) measurements that still give a conformal calibration.
MIN_EXACT_MEASUREMENTS = 3


@dataclass(slots=True)
class TrainingTable:
    """Usable training rows with their features.

    Attributes
    ----------
    compound_ids, smiles
        Per row: compound id and canonical SMILES.
    X, bits
        Model features and binary fingerprints (see :class:`chem.models.features.FeatureBatch`).
    y
        p-activity (the bound for censored rows).
    direction
        -1 upper bound (``<``), 0 exact, +1 lower bound (``>``).
    counts
        Input rows and rows dropped per reason.
    """

    compound_ids: list[str]
    smiles: list[str]
    X: np.ndarray
    bits: np.ndarray
    y: np.ndarray
    direction: np.ndarray
    counts: dict


def prepare_training_table(data: pd.DataFrame, settings: ModelSettings) -> TrainingTable:
    """Validate an activity table and featurize its usable rows.

    Parameters
    ----------
    data
        Columns ``smiles`` and ``p_activity``; optional ``compound_id`` and
        ``qualifier`` (``=``, ``~``, ``<``, ``<=``, ``>``, ``>=``; missing means ``=``).
    settings
        Feature settings and ``min_training_compounds``.

    Returns
    -------
    TrainingTable
        Rows with a finite activity and a parsable structure; the dropped
        counts are in ``counts``.

    Raises
    ------
    moltwin.errors.ModelError
        Missing columns, unknown qualifiers, no parsable structure, too few
        usable measurements, or all activities identical.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        raise ModelError(f"training data lacks column(s) {missing}; need {list(REQUIRED_COLUMNS)} "
                         "(optional: compound_id, qualifier)")
    n_input = len(data)
    ids = (data["compound_id"].astype(str).tolist() if "compound_id" in data.columns
           else [f"row_{i}" for i in range(n_input)])
    y_all = pd.to_numeric(data["p_activity"], errors="coerce").to_numpy(dtype=float)
    qualifiers = data["qualifier"] if "qualifier" in data.columns else pd.Series(["="] * n_input)
    direction_all = qualifier_directions(qualifiers.reset_index(drop=True))
    finite = np.isfinite(y_all)
    smiles_in = data["smiles"].tolist()
    batch = featurize_smiles([s for s, f in zip(smiles_in, finite) if f], settings)
    keep = np.flatnonzero(finite)[batch.ok]
    counts = {"n_input_rows": n_input,
              "n_dropped_missing_activity": int((~finite).sum()),
              "n_dropped_unparsable": int((~batch.ok).sum())}
    if finite.any() and not batch.ok.any():
        raise ModelError(f"none of the {int(finite.sum())} structures with an activity could be parsed "
                         f"(first error: {next(e for e in batch.errors if e)})")
    n_usable = len(keep)
    if n_usable < settings.min_training_compounds:
        raise ModelError(
            f"too few measurements to train an activity model: {n_usable} usable, at least "
            f"{settings.min_training_compounds} needed ({counts['n_dropped_missing_activity']} rows "
            f"without a numeric activity, {counts['n_dropped_unparsable']} unparsable SMILES dropped)")
    y = y_all[keep]
    direction = direction_all[keep]
    if np.ptp(y) < 1e-9:
        raise ModelError(f"all {n_usable} activities are identical ({y[0]:g}); a model cannot learn "
                         "structure-activity relationships from them")
    n_exact = int((direction == 0).sum())
    if n_exact < MIN_EXACT_MEASUREMENTS:
        raise ModelError(f"only {n_exact} exact (=) measurements; at least {MIN_EXACT_MEASUREMENTS} "
                         "are needed to calibrate prediction intervals")
    counts.update(n_train=n_usable, n_exact=n_exact, n_censored=int((direction != 0).sum()),
                  n_censored_upper=int((direction < 0).sum()), n_censored_lower=int((direction > 0).sum()))
    smiles_ok = [s for s in batch.canonical_smiles if s]
    return TrainingTable(compound_ids=[ids[i] for i in keep], smiles=smiles_ok, X=batch.X,
                         bits=batch.bits, y=y, direction=direction, counts=counts)


def training_data_hash(table: TrainingTable) -> str:
    """SHA-256 of the sorted (canonical SMILES, activity, direction) triples actually trained on."""
    symbol = {-1: "<", 0: "=", 1: ">"}
    rows = sorted((s, f"{v:.6g}", symbol[int(d)]) for s, v, d in zip(table.smiles, table.y, table.direction))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def settings_hash(settings: ModelSettings) -> str:
    """SHA-256 of the settings as canonical JSON."""
    return hashlib.sha256(json.dumps(settings.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
