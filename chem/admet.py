"""ADMET predictions with admet-ai (Chemprop ensembles trained on TDC data), as 0..1 risks.

:func:`predict_admet` gives, per endpoint, admet-ai's raw prediction, its percentile
among DrugBank-approved drugs and a risk column ``admet_<key>`` (0..1, higher = more
risk; how each is derived is in :mod:`chem.admet_settings`), which
:mod:`ranking.derive` summarizes as ``admet_max_risk``. :func:`admet_table` is the
screen stage's entry point. When admet-ai cannot run, :class:`AdmetUnavailableError`
is raised (or :func:`admet_table` returns a note starting "ADMET not predicted:") and
no number is made up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from chem.admet_engine import NOT_PREDICTED, AdmetUnavailableError, load_admet_engine, run_ensembles
from chem.admet_settings import ENDPOINT_BY_KEY, AdmetEndpoint, AdmetSettings
from chem.models.features import parse_smiles
from moltwin.errors import BadInputError
from moltwin.records import FailureRecord

__all__ = ["AdmetUnavailableError", "admet_failures", "admet_output_columns", "admet_table",
           "approved_drug_max_risk", "drugbank_percentile", "endpoint_risk", "load_admet_engine",
           "predict_admet"]

VERSION_COLUMN = "admetai_version"
ERROR_COLUMN = "admetai_error"


def drugbank_percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of each value among the DrugBank-approved reference predictions.

    Same convention as admet-ai (``scipy.stats.percentileofscore``, ``kind="rank"``);
    NaN stays NaN.
    """
    from scipy.stats import percentileofscore

    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    finite = np.isfinite(values)
    if finite.any():
        out[finite] = percentileofscore(reference, values[finite], kind="rank")
    return out


def endpoint_risk(endpoint: AdmetEndpoint, bad_end: str, raw: np.ndarray, percentile: np.ndarray) -> np.ndarray:
    """0..1 risk of one endpoint (higher = worse); see :mod:`chem.admet_settings`."""
    score = raw if endpoint.risk == "probability" else percentile / 100.0
    risk = score if bad_end == "high" else 1.0 - score
    return np.clip(risk, 0.0, 1.0)


def approved_drug_max_risk(settings: AdmetSettings | None = None,
                           gate_endpoints: tuple[str, ...] | None = None) -> np.ndarray:
    """``admet_max_risk`` of each DrugBank-approved drug under these settings (a yardstick).

    ``gate_endpoints`` limits the maximum to those endpoint keys, as the ranking's
    ``admet_max_risk`` does (``None``: every risk endpoint), so the yardstick and the
    table measure the same thing.

    Each approved drug's risks are computed from admet-ai's reference predictions
    exactly as for a candidate, so a gate on ``admet_max_risk`` can be read against
    what marketed drugs score (a maximum over many endpoints is rarely low).

    Raises
    ------
    AdmetUnavailableError
        admet-ai cannot be imported or its models cannot be loaded.
    """
    settings = settings or AdmetSettings()
    engine = load_admet_engine(settings.models_dir)
    risks = [endpoint_risk(e, settings.bad_end(e), ref, drugbank_percentile(ref, ref))
             for e in settings.risk_endpoints() if (ref := engine.reference.get(e.task)) is not None
             and (gate_endpoints is None or e.key in gate_endpoints)]
    return np.max(np.vstack(risks), axis=0) if risks else np.array([])


def _as_frame(molecules: list[str] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(molecules, pd.DataFrame):
        if "smiles" not in molecules.columns:
            raise BadInputError("ADMET input needs a 'smiles' column (and optionally 'compound_id')",
                                field="smiles")
        ids = (molecules["compound_id"].astype(str).tolist() if "compound_id" in molecules.columns
               else [f"row_{i}" for i in range(len(molecules))])
        return pd.DataFrame({"compound_id": ids, "smiles": molecules["smiles"].tolist()})
    smiles = list(molecules)
    return pd.DataFrame({"compound_id": [f"row_{i}" for i in range(len(smiles))], "smiles": smiles})


def admet_output_columns(settings: AdmetSettings) -> list[str]:
    """Columns of :func:`predict_admet` under these settings, in order."""
    keys = list(settings.endpoints)
    return (["compound_id", "smiles"] + [f"{k}_pred" for k in keys] + [f"{k}_drugbank_pct" for k in keys]
            + [f"admet_{e.key}" for e in settings.risk_endpoints()] + [VERSION_COLUMN, ERROR_COLUMN])


def predict_admet(molecules: list[str] | pd.DataFrame, settings: AdmetSettings | None = None) -> pd.DataFrame:
    """Predict ADMET endpoints, their DrugBank-approved percentiles and 0..1 risks.

    Parameters
    ----------
    molecules
        SMILES strings (ids become ``row_0``, ``row_1`` ...) or a DataFrame with
        ``smiles`` and optionally ``compound_id``.
    settings
        Endpoints, BBB direction, batch size, model folder.

    Returns
    -------
    pandas.DataFrame
        One row per input, in input order: ``compound_id``, ``smiles``; per endpoint
        key (``herg``, ``ames``, ``dili``, ``clintox``, ``cyp3a4``, ``cyp2d6``,
        ``cyp2c9``, ``solubility``, ``caco2``, ``pampa``, ``half_life``, ``bbb``)
        ``<key>_pred`` (admet-ai's raw prediction: probability, or the units in
        :data:`chem.admet_settings.ENDPOINTS`) and ``<key>_drugbank_pct`` (0-100);
        ``admet_<key>`` risks (0..1, higher = worse; BBB only when
        ``bbb_penetration`` is not ``ignore``); ``admetai_version``;
        ``admetai_error`` ("" when predicted; otherwise the row's numbers are NaN).

    Raises
    ------
    AdmetUnavailableError
        admet-ai cannot be imported or its models cannot be loaded.
    """
    settings = settings or AdmetSettings()
    frame = _as_frame(molecules)
    endpoints = [ENDPOINT_BY_KEY[k] for k in settings.endpoints]
    parsed = [parse_smiles(s) for s in frame["smiles"]]
    errors = [err for _, err in parsed]
    ok = [i for i, (mol, _) in enumerate(parsed) if mol is not None]
    n = len(frame)
    raw = {e.key: np.full(n, np.nan) for e in endpoints}
    version = ""
    engine = None
    if ok:
        engine = load_admet_engine(settings.models_dir)
        version = f"admet-ai {engine.version}"
        missing = [e.task for e in endpoints if not any(e.task in ts for ts in engine.task_lists)]
        if missing:
            raise AdmetUnavailableError(f"the loaded admet-ai models lack task(s) {', '.join(missing)}")
        with engine.lock:  # torch modules are shared by threads of one process
            values, run_errors = run_ensembles(engine, [parsed[i][0] for i in ok],
                                                [e.task for e in endpoints], settings.batch_size)
        for e in endpoints:
            raw[e.key][ok] = values[e.task]
        for j, i in enumerate(ok):
            errors[i] = run_errors[j]
    out = frame.copy()
    for e in endpoints:
        out[f"{e.key}_pred"] = raw[e.key]
    for e in endpoints:
        reference = engine.reference.get(e.task) if engine is not None else None
        out[f"{e.key}_drugbank_pct"] = (drugbank_percentile(reference, raw[e.key]) if reference is not None
                                        else np.full(n, np.nan))
    for e in settings.risk_endpoints():
        out[f"admet_{e.key}"] = endpoint_risk(e, settings.bad_end(e), out[f"{e.key}_pred"].to_numpy(),
                                              out[f"{e.key}_drugbank_pct"].to_numpy())
    out[VERSION_COLUMN] = version
    out[ERROR_COLUMN] = errors
    return out[admet_output_columns(settings)]


def admet_table(candidates: pd.DataFrame, settings: AdmetSettings | None = None,
                gate_endpoints: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, str]:
    """ADMET risks for the screen stage, never raising for a missing admet-ai.

    Parameters
    ----------
    candidates
        ``compound_id`` and ``smiles`` per candidate (one row per compound).
    settings
        ADMET settings; ``enabled=False`` skips prediction.
    gate_endpoints
        Endpoint keys the ranking's ``admet_max_risk`` summarizes (``None``: all); the
        approved-drug yardstick in the note uses the same ones.

    Returns
    -------
    (pandas.DataFrame, str)
        The :func:`predict_admet` table (merge it on ``compound_id``) and a one-line
        note for the report. When ADMET could not run, the table holds only
        ``compound_id`` and the note starts with "ADMET not predicted:".
    """
    settings = settings or AdmetSettings()
    ids_only = _as_frame(candidates)[["compound_id"]]
    if not settings.enabled:
        return ids_only, f"{NOT_PREDICTED}: switched off in the settings (admet.enabled = false)."
    try:
        table = predict_admet(candidates, settings)
    except AdmetUnavailableError as exc:
        return ids_only, f"{exc}."
    n_ok = int((table[ERROR_COLUMN] == "").sum())
    version = next((v for v in table[VERSION_COLUMN] if v), "admet-ai")
    risks = ", ".join(e.key for e in settings.risk_endpoints())
    note = (f"ADMET predicted with {version} (Chemprop ensembles trained on TDC data) for {n_ok} of "
            f"{len(table)} compounds; risks 0-1 ({risks}): probability of the adverse class for "
            "classifiers, share of DrugBank-approved drugs that do better for regressions.")
    approved = approved_drug_max_risk(settings, gate_endpoints) if n_ok else np.array([])
    if len(approved):
        low, mid, high = np.percentile(approved, [10, 50, 90])
        over = ", ".join(gate_endpoints) if gate_endpoints is not None else "all risk endpoints"
        note += (f" For scale, DrugBank-approved drugs score admet_max_risk (max over {over}, as "
                 f"in the table) {mid:.2f} at the median ({low:.2f}-{high:.2f}, 10th-90th percentile).")
    return table, note


def admet_failures(table: pd.DataFrame) -> list[FailureRecord]:
    """Failure records (stage ``admet``) for the rows of a :func:`predict_admet` table with an error."""
    if ERROR_COLUMN not in table.columns:
        return []
    failed = table[table[ERROR_COLUMN].astype(str) != ""]
    return [FailureRecord(stage="admet", reason_code="unparsable_smiles" if "SMILES" in row[ERROR_COLUMN]
                          else "admet_failed", message=row[ERROR_COLUMN], compound_id=str(row["compound_id"]))
            for _, row in failed.iterrows()]
