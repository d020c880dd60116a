"""Ask the twin about one new structure: standardize, filter, predict, ADMET, gate, and find its neighbours.

Everything reuses the screen's own code and settings (the project's saved configuration),
so the answer is what a screen would have said about this compound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import rdFingerprintGenerator

from chem.admet import predict_admet
from chem.admet_engine import AdmetUnavailableError
from chem.admet_settings import AdmetSettings
from chem.filters import enabled_steps, evaluate_mol
from chem.models.predict import predict_activity
from chem.settings import FilterSettings
from chem.standardize import standardize_smiles
from moltwin.errors import BadInputError, MolTwinError
from ranking.gates import evaluate_gates
from ranking.score import rank_candidates
from ranking.settings import RankSettings

MAX_SMILES_CHARS = 500
_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@dataclass
class WhatIfAnswer:
    input_smiles: str
    smiles: str
    inchikey: str
    changed_by_standardization: bool
    properties: dict
    verdicts: list[tuple[str, str, str]]  # step, "pass"/"fail", reason
    prediction: dict = field(default_factory=dict)
    model_note: str = ""
    admet: dict = field(default_factory=dict)
    admet_note: str = ""
    decision: str = ""
    decision_reason: str = ""
    stage: str = ""
    gates: list[tuple[str, float]] = field(default_factory=list)  # stage, p(clear up to and including it)
    criteria_missed: str = ""
    neighbours: list[dict] = field(default_factory=list)


def standardize_input(text: str):
    """The standardized molecule, or a :class:`BadInputError` a chemist can act on."""
    text = (text or "").strip()
    if not text:
        raise BadInputError("Paste a SMILES first.")
    if len(text) > MAX_SMILES_CHARS:
        raise BadInputError(f"The SMILES has {len(text)} characters; the limit is {MAX_SMILES_CHARS}.")
    try:
        return standardize_smiles(text)
    except MolTwinError as exc:
        raise BadInputError(f"'{text[:80]}' cannot be used: {exc}") from None


def filter_verdicts(mol: Chem.Mol, settings: FilterSettings) -> tuple[dict, list[tuple[str, str, str]]]:
    """Properties and one (step, pass/fail, reason) per enabled filter step, in the screen's order."""
    props, reasons = evaluate_mol(mol, settings)
    by_step: dict[str, list[str]] = {}
    for step, why in reasons:
        by_step.setdefault(step, []).append(why)
    verdicts = [(step, "fail" if step in by_step else "pass", "; ".join(by_step.get(step, [])))
                for step in enabled_steps(settings, novelty=False) if step != "parse"]
    return props, verdicts


def fingerprints(smiles) -> list:
    """Morgan radius-2 fingerprints (None where a SMILES does not parse), for :func:`nearest_measured`."""
    with rdBase.BlockLogs():
        return [_MORGAN.GetFingerprint(m) if (m := Chem.MolFromSmiles(s)) is not None else None for s in smiles]


def nearest_measured(smiles: str, measured: pd.DataFrame, k: int = 5, fps: list | None = None) -> list[dict]:
    """The ``k`` measured compounds most similar (Morgan r2 Tanimoto) to ``smiles``, with their values.

    ``fps`` are the measured compounds' :func:`fingerprints` when the caller keeps them.
    """
    if measured.empty:
        return []
    with rdBase.BlockLogs():
        query = _MORGAN.GetFingerprint(Chem.MolFromSmiles(smiles))
    fps = fps if fps is not None else fingerprints(measured["smiles"])
    ok = [i for i, fp in enumerate(fps) if fp is not None]
    sims = np.full(len(fps), -1.0)
    sims[ok] = DataStructs.BulkTanimotoSimilarity(query, [fps[i] for i in ok])
    order = np.argsort(-sims, kind="stable")[:k]
    rows = measured.iloc[order].to_dict("records")
    for row, i in zip(rows, order):
        row["similarity"] = float(sims[i])
    return rows


def ask_twin(text: str, *, model=None, filter_settings: FilterSettings | None = None,
             rank_settings: RankSettings | None = None, admet_settings: AdmetSettings | None = None,
             measured: pd.DataFrame | None = None, measured_fps: list | None = None, model_note: str = "",
             admet_note: str = "ADMET not predicted: switched off in this project's configuration.") -> WhatIfAnswer:
    """The twin's answer for one SMILES.

    Parameters
    ----------
    model
        The project's activity model (None: no prediction; ``model_note`` says why).
    admet_settings
        None or disabled: no ADMET; the answer carries ``admet_note`` instead.
    measured
        Measured compounds (``compound_id, smiles, measured_p_activity, measured_qualifier``);
        ``measured_fps`` their :func:`fingerprints`, when kept by the caller.
    """
    std = standardize_input(text)
    mol = Chem.MolFromSmiles(std.smiles)
    props, verdicts = filter_verdicts(mol, filter_settings or FilterSettings())
    answer = WhatIfAnswer(input_smiles=text.strip(), smiles=std.smiles, inchikey=std.inchikey,
                          changed_by_standardization=Chem.CanonSmiles(text.strip()) != std.smiles
                          if Chem.MolFromSmiles(text.strip()) is not None else True,
                          properties=props, verdicts=verdicts, model_note=model_note)
    row = pd.DataFrame([{"compound_id": "what-if", "smiles": std.smiles, "inchikey": std.inchikey,
                         "origin": "what-if", **props,
                         "alerts": "; ".join(r for s, v, r in verdicts if v == "fail" and s.endswith("alerts"))}])
    if model is not None:
        pred = predict_activity(model, [std.smiles]).iloc[0].to_dict()
        answer.prediction = pred
        row = pd.concat([row, pd.DataFrame([pred]).drop(columns=["compound_id", "smiles", "error"],
                                                         errors="ignore")], axis=1)
    if admet_settings is not None and admet_settings.enabled:
        try:  # predict_admet, not admet_table: the approved-drug yardstick costs ~0.4 s per call
            table = predict_admet(pd.DataFrame({"compound_id": ["what-if"], "smiles": [std.smiles]}), admet_settings)
            error = str(table.iloc[0].get("admetai_error", "") or "")
            answer.admet_note = (f"ADMET not predicted: {error}" if error else
                                 f"Predicted with {table.iloc[0].get('admetai_version', 'admet-ai')}; risks 0-1, "
                                 "higher is worse (probability of the adverse class, or the share of approved drugs doing better).")
        except AdmetUnavailableError as exc:
            table = pd.DataFrame({"compound_id": ["what-if"]})
            answer.admet_note = f"ADMET not predicted: {exc}"
        risk = [c for c in table.columns if c.startswith("admet_") and pd.api.types.is_numeric_dtype(table[c])]
        answer.admet = {c: float(table.iloc[0][c]) for c in risk if pd.notna(table.iloc[0][c])}
        row = row.merge(table.drop(columns=["smiles"], errors="ignore"), on="compound_id", how="left")
    else:
        answer.admet_note = admet_note
    settings = rank_settings or RankSettings()
    ranked = rank_candidates(row, settings).iloc[0].to_dict()
    answer.decision, answer.decision_reason = str(ranked["decision"]), str(ranked.get("decision_reason", ""))
    answer.stage, answer.criteria_missed = str(ranked["stage"]), str(ranked.get("criteria_missed", ""))
    answer.gates = [(s.name, float(evaluate_gates(ranked, settings.model_copy(update={"target_stage": s.name}))
                                   ["p_clear_gates"])) for s in settings.stages]
    if measured is not None:
        answer.neighbours = nearest_measured(std.smiles, measured, fps=measured_fps)
    return answer
