"""Settings for ranking: desirability profile, stage gates and next-batch acquisition.

Every threshold here is a project decision, not a law of nature. The defaults follow
common medicinal-chemistry practice for an oral kinase series (hit at ~1 µM, lead at
~100 nM with lead-like properties, candidate at ~10 nM with a stable simulated pose)
and should be re-calibrated per series; MM/GBSA values in particular are only
comparable within one protocol and one target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from moltwin.errors import ConfigError
from moltwin.settings_base import StrictModel
from ranking.config_upgrade import notify, upgrade_rank_data

ComparisonOp = Literal[">=", "<=", ">", "<"]
#: Stage of a compound no gate stage applies to: never measured, or measured below every gate.
DESIGNED, MEASURED = "designed", "measured"


class DesirabilitySpec(StrictModel):
    """How one property maps onto a desirability between 0 (bad) and 1 (ideal).

    ``higher``: 0 at or below ``low``, 1 at or above ``high``, linear between.
    ``lower``: 1 at or below ``low``, 0 at or above ``high``, linear between.
    ``range``: 1 inside [``low``, ``high``], falling linearly to 0 at ``tolerance``
    outside the range. A ``hard`` property can reach 0 and so veto a compound in the
    geometric mean; a soft one is floored at ``RankSettings.soft_floor``.
    """

    column: str = Field(description="Column of the candidate table holding the property.")
    label: str = Field(description="Short name shown in the report.")
    kind: Literal["higher", "lower", "range"]
    low: float
    high: float
    tolerance: float = Field(0.0, ge=0.0, description="For 'range': distance to reach 0.")
    weight: float = Field(1.0, gt=0.0)
    hard: bool = False
    group: Literal["potency", "developability", "physics"]
    replaces: str | None = Field(
        None, description="Column of another property this one stands in for: where this one "
                          "has a value, the other is left out of the score (e.g. a calibrated "
                          "physics pActivity replaces raw MM/GBSA).")

    @model_validator(mode="after")
    def _check_bounds(self) -> "DesirabilitySpec":
        if self.low > self.high:
            raise ValueError(f"desirability '{self.column}': low {self.low} > high {self.high}")
        return self


class GateCriterion(StrictModel):
    """One threshold a compound must pass to reach a stage.

    A missing value is *unknown* and counts as not met. When ``requires_measured``
    is set, the value only counts if ``source_column`` says ``"measured"``.
    ``sd_column`` gives the uncertainty sampled in the Monte-Carlo gate probability;
    ``qualifier_column`` marks censored values ('<', '>'), which are sampled from the
    prior (``prior_column`` ± ``prior_sd_column``, else the bound ± the
    ``censored_prior_sd``) truncated at the bound.
    """

    column: str
    label: str
    op: ComparisonOp
    threshold: float
    unit: str = ""
    sd_column: str | None = None
    qualifier_column: str | None = None
    prior_column: str | None = None
    prior_sd_column: str | None = None
    source_column: str | None = None
    requires_measured: bool = False
    missing_may_pass: bool = Field(
        True, description="In the 'if missing data agree' estimate, may a missing value pass? "
                          "False for evidence nothing can stand in for, such as potency.")
    decimals: int | None = Field(None, ge=0, description="Digits in messages (None: auto).")
    missing_prior_p: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="Prior probability that a value not computed yet (no MD, no ADMET, no "
                    "replicate) will pass: an explicit prior, never 0 and never 'met'. Updated "
                    "with the series' own pass rate where other compounds have the value.")

    @model_validator(mode="after")
    def _check_source(self) -> "GateCriterion":
        if self.requires_measured and not self.source_column:
            raise ValueError(f"criterion '{self.label}': requires_measured needs source_column")
        return self


class StageGate(StrictModel):
    """A named stage and the criteria added on top of the previous stages."""

    name: str
    title: str = ""
    criteria: tuple[GateCriterion, ...]

    @property
    def display(self) -> str:
        return self.title or self.name


class CalibrationSettings(StrictModel):
    """Per-series calibration of a physics score against measured pActivity.

    pActivity ≈ a + b · physics is fitted by least squares on the compounds with both an
    exact measurement and a physics value, once at least ``min_compounds`` exist.
    """

    enabled: bool = True
    physics_column: str = "mmgbsa_kcal_mol"
    physics_sem_column: str | None = "mmgbsa_sem_kcal_mol"
    min_compounds: int = Field(5, ge=3, description="Fewest compounds with MD and a measurement.")
    expected_slope_sign: Literal[-1, 1, 0] = Field(
        -1, description="Sign the slope must have to be used (-1: more negative physics score, "
                        "more potent; 0: any sign).")
    min_loo_r: float = Field(
        0.3, ge=-1.0, le=1.0,
        description="Leave-one-out Pearson R the line must reach to be used; below it the report "
                    "says the calibration is too weak to use (with n = 5-8 compounds an R under "
                    "about 0.3 is indistinguishable from no signal).")


class PotencySettings(StrictModel):
    """How measurement, prediction and calibrated physics combine into one potency estimate.

    Every source is a Normal in pActivity units; the estimate is their inverse-variance
    weighted mean (a censored measurement truncates the combination of the other sources
    at its bound). A compound with no source gets the series prior: the mean and SD of the
    exactly measured compounds, or ``prior_mean`` ± ``prior_sd`` with fewer than
    ``prior_min_measured`` of them.
    """

    replicate_prior_df: float = Field(
        3.0, gt=0.0, description="Weight, in degrees of freedom, of the assay's typical replicate SD "
                                 "when shrinking a compound's own replicate SD towards it.")
    min_pooled_replicates: int = Field(
        5, ge=1, description="Degrees of freedom (sum of n-1) needed before the series' pooled "
                             "replicate SD replaces default_measured_sd as the assay's typical SD.")
    min_pred_sd: float = Field(0.1, gt=0.0, description="Floor on a prediction's SD (never 0); the "
                                                         "assay's typical replicate SD floors it too.")
    prior_mean: float = Field(6.0, description="Potency prior mean when the series has too few "
                                               "exact measurements.")
    prior_sd: float = Field(1.5, gt=0.0, description="Potency prior SD in that case.")
    prior_min_measured: int = Field(3, ge=2)
    use_physics: bool = Field(True, description="Combine calibrated physics into the estimate.")


class NextBatchSettings(StrictModel):
    """Acquisition of the next compounds to make or test."""

    size: int = Field(12, ge=1)
    acquisition: Literal["p_clear", "thompson", "ucb", "ei"] = Field(
        "p_clear", description="p_clear: p(clear the target stage) -- the number the decision and the "
                               "rank use -- with the bounded sd; thompson: batch Thompson sampling of "
                               "potency, each draw kept only where the target stage's other gates "
                               "pass in the same draw; ucb: p(other gates) x (mean + kappa sd); ei: "
                               "p(other gates) x expected improvement over the best measured estimate.")
    ucb_kappa: float = Field(1.0, ge=0.0, description="UCB = activity_p + kappa * activity_sd.")
    max_sd_factor: float = Field(
        1.5, gt=0.0, description="Bound on the acquisition's uncertainty: compounds whose potency SD "
                                 "exceeds this multiple of the measured series' SD are not proposed "
                                 "(the model knows less about them than the series spread).")
    ei_xi: float = Field(0.0, ge=0.0, description="EI exploration margin, pActivity units.")
    max_alerts: int = Field(0, ge=0, description="Skip candidates with more structural alerts.")
    max_admet_risk: float = Field(0.5, ge=0.0, le=1.0)
    sa_free_below: float = Field(3.5, description="SA score below which synthesis costs nothing.")
    sa_penalty_per_unit: float = Field(0.25, ge=0.0, description="pActivity units per SA unit.")
    max_tanimoto_to_picked: float = Field(0.7, gt=0.0, le=1.0)
    morgan_radius: int = Field(2, ge=1)
    morgan_n_bits: int = Field(2048, ge=64)


def _activity(op: ComparisonOp, threshold: float, *, measured: bool) -> GateCriterion:
    return GateCriterion(column="activity_p", label="pActivity", op=op, threshold=threshold,
                         sd_column="activity_sd", qualifier_column="activity_qualifier",
                         prior_column="pred_p_activity", prior_sd_column="pred_std",
                         source_column="activity_source", requires_measured=measured,
                         missing_may_pass=False)


DEFAULT_PROFILE: tuple[DesirabilitySpec, ...] = (
    DesirabilitySpec(column="activity_p", label="pActivity", kind="higher", low=5.0, high=8.0,
                     weight=2.0, group="potency"),
    DesirabilitySpec(column="qed", label="QED", kind="higher", low=0.2, high=0.6,
                     group="developability"),
    DesirabilitySpec(column="sa_score", label="SA score", kind="lower", low=3.0, high=6.0,
                     group="developability"),
    DesirabilitySpec(column="clogp", label="cLogP", kind="range", low=1.0, high=4.0,
                     tolerance=2.0, group="developability"),
    DesirabilitySpec(column="mw_da", label="MW", kind="range", low=250.0, high=500.0,
                     tolerance=150.0, group="developability"),
    DesirabilitySpec(column="tpsa_a2", label="TPSA", kind="range", low=40.0, high=120.0,
                     tolerance=40.0, group="developability"),
    # Two or more alerts (PAINS/Brenk-type) veto a compound: the usual med-chem practice.
    DesirabilitySpec(column="n_alerts", label="alerts", kind="lower", low=0.0, high=2.0,
                     hard=True, group="developability"),
    DesirabilitySpec(column="frac_frames_within_2A", label="pose stability", kind="higher",
                     low=0.3, high=0.8, group="physics"),
    # MM/GBSA is not a property of its own: calibrated per series it is one of the sources
    # of the potency estimate (ranking.potency), so it enters the score once, through pActivity.
)

DEFAULT_STAGES: tuple[StageGate, ...] = (
    StageGate(name="hit", criteria=(
        _activity(">=", 6.0, measured=True),
        GateCriterion(column="n_alerts", label="alerts", op="<=", threshold=1, decimals=0),
    )),
    StageGate(name="lead", criteria=(
        _activity(">=", 7.0, measured=True),
        GateCriterion(column="qed", label="QED", op=">=", threshold=0.4),
        GateCriterion(column="sa_score", label="SA score", op="<=", threshold=4.5),
        GateCriterion(column="clogp", label="cLogP", op="<=", threshold=5.0),
        GateCriterion(column="n_alerts", label="alerts", op="<=", threshold=0, decimals=0),
    )),
    StageGate(name="candidate", criteria=(
        _activity(">=", 8.0, measured=True),
        GateCriterion(column="mw_da", label="MW", op="<=", threshold=550.0, unit="Da"),
        GateCriterion(column="tpsa_a2", label="TPSA", op="<=", threshold=140.0, unit="Å²"),
        # Physics binding energy enters the potency estimate (calibrated per series), so it
        # has no gate of its own here; an absolute kcal/mol threshold would mean nothing.
        GateCriterion(column="frac_frames_within_2A", label="pose stability", op=">=",
                      threshold=0.6),
    )),
    StageGate(name="clinical", title="recommend for clinical progression", criteria=(
        _activity(">=", 8.5, measured=True),
        GateCriterion(column="measured_n", label="replicates", op=">=", threshold=2,
                      decimals=0, missing_prior_p=0.9),
        GateCriterion(column="admet_max_risk", label="max safety risk (hERG/AMES/ClinTox)", op="<=",
                      threshold=0.5),
    )),
)


class RankSettings(StrictModel):
    """Everything that decides how candidates are scored, gated, ranked and proposed."""

    desirability: tuple[DesirabilitySpec, ...] = DEFAULT_PROFILE
    soft_floor: float = Field(0.1, gt=0.0, lt=1.0,
                              description="Lowest desirability of a soft property.")
    stages: tuple[StageGate, ...] = DEFAULT_STAGES
    target_stage: str = Field("lead", description="Stage whose gates p_clear_gates refers to.")
    advance_at_p: float = Field(0.5, ge=0.0, le=1.0,
                                description="Advance when p(clear target stage) is at least this.")
    deprioritize_below_p: float = Field(0.1, ge=0.0, le=1.0,
                                        description="Deprioritize below this p(clear target stage).")
    make_capacity: int | None = Field(
        None, ge=1, description="Compounds not measured yet that 'advance' (make next) at most, "
                                "the most likely to clear the target stage first (ties at the cut "
                                "included); None: the next batch size. Measured compounds advance "
                                "on their own evidence, without a capacity.")
    reached_at_p: float = Field(0.5, gt=0.0, le=1.0,
                                description="A stage counts as reached when its gates are cleared "
                                            "with at least this probability on known evidence.")
    n_samples: int = Field(2000, ge=10, description="Unused since gate probabilities are exact; "
                                                   "kept so saved configs still load.")
    default_measured_sd: float = Field(0.3, gt=0.0,
                                       description="pActivity SD of a single measurement.")
    censored_prior_sd: float = Field(1.0, gt=0.0,
                                     description="pActivity SD around a censored bound.")
    next_batch: NextBatchSettings = NextBatchSettings()
    admet_gate_endpoints: tuple[str, ...] | None = Field(
        ("herg", "ames", "clintox"),
        description="ADMET risks summarized in admet_max_risk for gates and next-batch gating (None: all). "
                    "Default: the safety endpoints; admet-ai's DILI flags nearly every molecule (caffeine "
                    "0.93, approved drugs median 0.97) and regression percentiles rank rather than judge, so "
                    "they are shown but do not gate.")
    calibration: CalibrationSettings = CalibrationSettings()
    potency: PotencySettings = PotencySettings()
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _upgrade_old_config(cls, data: object) -> object:
        # Configs saved by older versions: absolute MM/GBSA gate, "hit" for never-made
        # compounds, physics counted twice in the score (ranking.config_upgrade).
        data, notes = upgrade_rank_data(data)
        notify(notes)
        return data

    @model_validator(mode="after")
    def _check_consistency(self) -> "RankSettings":
        names = [s.name for s in self.stages]
        if not names:
            raise ValueError("at least one stage gate is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {names}")
        if set(names) & {DESIGNED, MEASURED}:
            raise ValueError(f"stage names '{DESIGNED}' and '{MEASURED}' are reserved")
        if self.deprioritize_below_p > self.advance_at_p:
            raise ValueError("deprioritize_below_p must not exceed advance_at_p")
        if self.target_stage not in names:
            raise ValueError(f"target_stage '{self.target_stage}' is not one of {names}")
        columns = [d.column for d in self.desirability]
        if len(set(columns)) != len(columns):
            raise ValueError(f"desirability columns must be unique: {columns}")
        for d in self.desirability:
            if d.replaces is not None and (d.replaces not in columns or d.replaces == d.column):
                raise ValueError(f"desirability '{d.column}' replaces '{d.replaces}', which is "
                                 "not another property of the profile")
        # One column is sampled once per compound, so all criteria on it must agree on how.
        sampling: dict[str, tuple] = {}
        for stage in self.stages:
            for c in stage.criteria:
                how = (c.sd_column, c.qualifier_column, c.prior_column, c.prior_sd_column)
                if sampling.setdefault(c.column, how) != how:
                    raise ValueError(f"criteria on '{c.column}' disagree on how to sample it")
        return self

    def capacity(self) -> int:
        """Make capacity: ``make_capacity``, else the next batch size."""
        return self.make_capacity if self.make_capacity is not None else self.next_batch.size

    def stage_index(self, name: str) -> int:
        """Position of a stage in the progression (0 = first)."""
        return [s.name for s in self.stages].index(name)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "RankSettings":
        """Load settings from a YAML file; fields left out keep their defaults.

        Raises
        ------
        ConfigError
            If the file cannot be read or parsed or has unknown/invalid fields.
        """
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read rank settings: {exc}", file=str(path)) from exc
        if not isinstance(data, dict):
            raise ConfigError("rank settings must be a YAML mapping", file=str(path))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(f"invalid rank settings: {exc}", file=str(path)) from exc

    def to_yaml(self) -> str:
        """Serialize to YAML (round-trips through :meth:`from_yaml`)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
