"""Settings of the ADMET stage and the table of endpoints it reports.

Each endpoint maps one admet-ai (Chemprop-RDKit, TDC-trained) task onto a risk in
0..1 where higher means more risk; :mod:`ranking.derive` takes the row maximum of
the ``admet_<key>`` columns as ``admet_max_risk``. Two kinds of risk:

``probability``
    Classification tasks. The risk is the predicted probability of the adverse
    class (hERG blocker, Ames positive, ...), or one minus the probability of the
    wanted class (PAMPA-permeable) when ``bad="low"``.
``percentile``
    Regression tasks, whose raw units (log mol/L, log cm/s, hours) cannot be read
    as a probability. The risk is the share of DrugBank-approved drugs that score
    *better* than the compound: ``1 - percentile/100`` when low values are bad
    (solubility, permeability, half-life). A risk of 0.9 means "worse than 90 % of
    approved drugs".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from moltwin.settings_base import StrictModel

EndpointKey = Literal["herg", "ames", "dili", "clintox", "cyp3a4", "cyp2d6", "cyp2c9",
                      "solubility", "caco2", "pampa", "half_life", "bbb"]


@dataclass(frozen=True, slots=True)
class AdmetEndpoint:
    """One reported ADMET endpoint.

    Attributes
    ----------
    key
        Short name used in column names (``<key>_pred``, ``<key>_drugbank_pct``, ``admet_<key>``).
    task
        admet-ai task id (TDC dataset name).
    label
        What is predicted, for reports.
    units
        Units of the raw prediction (``probability`` for classification tasks).
    risk
        ``probability`` or ``percentile`` (see the module docstring).
    bad
        ``high`` or ``low``: which end of the raw scale is the liability.
    """

    key: str
    task: str
    label: str
    units: str
    risk: Literal["probability", "percentile"]
    bad: Literal["high", "low"]


# PAMPA_NCATS label 1 is "permeable" (checked: caffeine 0.95, sucrose 0.01), so low is bad.
ENDPOINTS: tuple[AdmetEndpoint, ...] = (
    AdmetEndpoint("herg", "hERG", "hERG blocking", "probability", "probability", "high"),
    AdmetEndpoint("ames", "AMES", "Ames mutagenicity", "probability", "probability", "high"),
    AdmetEndpoint("dili", "DILI", "drug-induced liver injury", "probability", "probability", "high"),
    AdmetEndpoint("clintox", "ClinTox", "clinical-trial toxicity", "probability", "probability", "high"),
    AdmetEndpoint("cyp3a4", "CYP3A4_Veith", "CYP3A4 inhibition", "probability", "probability", "high"),
    AdmetEndpoint("cyp2d6", "CYP2D6_Veith", "CYP2D6 inhibition", "probability", "probability", "high"),
    AdmetEndpoint("cyp2c9", "CYP2C9_Veith", "CYP2C9 inhibition", "probability", "probability", "high"),
    AdmetEndpoint("solubility", "Solubility_AqSolDB", "aqueous solubility (AqSolDB)", "log10(mol/L)",
                  "percentile", "low"),
    AdmetEndpoint("caco2", "Caco2_Wang", "Caco-2 permeability", "log10(cm/s)", "percentile", "low"),
    AdmetEndpoint("pampa", "PAMPA_NCATS", "PAMPA permeability (NCATS)", "probability", "probability",
                  "low"),
    AdmetEndpoint("half_life", "Half_Life_Obach", "human half-life", "h", "percentile", "low"),
    AdmetEndpoint("bbb", "BBB_Martins", "blood-brain barrier penetration", "probability",
                  "probability", "high"),
)
ENDPOINT_BY_KEY = {e.key: e for e in ENDPOINTS}


class AdmetSettings(StrictModel):
    """Which ADMET endpoints are predicted and how they become risks."""

    enabled: bool = Field(True, description="Predict ADMET endpoints with admet-ai in the screen run.")
    endpoints: list[EndpointKey] = Field(
        default_factory=lambda: [e.key for e in ENDPOINTS], min_length=1,
        description="Endpoints to report (raw prediction, DrugBank percentile, risk).")
    bbb_penetration: Literal["avoid", "wanted", "ignore"] = Field(
        "ignore",
        description="Whether brain penetration is a liability (peripheral target: 'avoid'), needed "
                    "(CNS target: 'wanted') or neither ('ignore': reported, no admet_bbb risk column).")
    exclude_from_risk: list[EndpointKey] = Field(
        default_factory=list,
        description="Endpoints reported (raw + percentile) without an admet_<key> risk column, so they do "
                    "not count in admet_max_risk (e.g. one that flags the whole series alike).")
    batch_size: int = Field(256, ge=1, le=8192,
                            description="Molecules per Chemprop batch (larger is faster on CPU, up to memory).")
    models_dir: Path | None = Field(
        None, description="Folder of admet-ai Chemprop ensembles; None uses the ones packaged with admet-ai.")

    @field_validator("endpoints", "exclude_from_risk")
    @classmethod
    def _unique(cls, keys: list[str]) -> list[str]:
        return list(dict.fromkeys(keys))

    def risk_endpoints(self) -> list[AdmetEndpoint]:
        """The selected endpoints that get an ``admet_<key>`` risk column (BBB only when it matters)."""
        chosen = [ENDPOINT_BY_KEY[k] for k in self.endpoints if k not in self.exclude_from_risk]
        return [e for e in chosen if e.key != "bbb" or self.bbb_penetration != "ignore"]

    def bad_end(self, endpoint: AdmetEndpoint) -> str:
        """``high`` or ``low``: the liability end of an endpoint under these settings."""
        if endpoint.key == "bbb":
            return "low" if self.bbb_penetration == "wanted" else "high"
        return endpoint.bad
