"""Settings of the chemistry stages: generation, standardization and filtering.

One pydantic model per stage (strict, frozen). The filter defaults are ordinary
medicinal-chemistry limits for oral small molecules: property windows slightly
wider than Lipinski's rule of five (which is counted separately, one violation
allowed), Veber's rotatable-bond and polar-surface limits, a QED floor, an SA-score
ceiling and the PAINS and Brenk alert catalogs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from moltwin.settings_base import StrictModel

AlertCatalogName = Literal["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH"]
AnalogMethod = Literal["brics", "mutation"]


class Window(StrictModel):
    """A closed interval ``[min, max]``; either end may be ``None`` (open)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"window min {self.min} is larger than max {self.max}")
        return self


class StandardizeSettings(StrictModel):
    """How input structures are standardized (ChEMBL-like, via rdMolStandardize)."""

    keep_largest_fragment: bool = Field(
        True, description="Strip salts and solvents by keeping the largest organic fragment.")
    neutralize: bool = Field(True, description="Neutralize charges where a neutral form exists.")
    canonical_tautomer: bool = Field(
        False, description="Replace the structure by RDKit's canonical tautomer (slow, may "
        "change the drawn form chemists know).")
    max_heavy_atoms: int = Field(
        100, ge=1, description="Larger molecules (peptides, polymers) fail with 'too_large'.")


class GenerateSettings(StrictModel):
    """Which candidates are generated around a series, and how many."""

    seed: int = Field(0, description="Seed of every random choice; same seed, same output.")
    max_candidates: int = Field(500, ge=1, description="Cap on candidates per generator.")
    compound_id_prefix: str = Field("MT-", description="Prefix of generated compound ids.")

    # --- R-group enumeration ------------------------------------------------------
    core_smiles: str | None = Field(
        None, description="Core with numbered attachment points [*:1], [*:2] ...")
    rgroups: dict[int, list[str]] = Field(
        default_factory=dict, description="Extra fragment SMILES per site (one [*] each).")
    rgroup_files: dict[int, Path] = Field(
        default_factory=dict, description="Files of fragment SMILES per site (.smi or .yaml).")
    use_series_rgroups: bool = Field(
        True, description="Add the R groups observed in the series (RGroupDecomposition).")
    use_shipped_substituents: bool = Field(
        True, description="Add chem/data/substituents.yaml (acyl for site 1, aryl for site 2).")

    # --- reaction enumeration -----------------------------------------------------
    reactions: list[str] = Field(
        default_factory=list, description="Names from chem/data/reactions.yaml to enumerate.")
    building_block_files: dict[str, list[Path]] = Field(
        default_factory=dict, description="Per reaction name, one building-block file per "
        "reactant, in reactant order.")

    # --- analogs around seeds -----------------------------------------------------
    analog_methods: list[AnalogMethod] = Field(
        default_factory=list, description="Analog generators to run around the seeds.")
    analog_min_similarity: float = Field(
        0.4, ge=0, le=1, description="Minimum Morgan-2 Tanimoto of an analog to its seed.")
    brics_max_depth: int = Field(2, ge=0, le=4, description="BRICSBuild recursion depth.")

    @field_validator("core_smiles")
    @classmethod
    def _core_has_sites(cls, value: str | None) -> str | None:
        if value is not None and "[*:" not in value:
            raise ValueError("core_smiles needs numbered attachment points such as [*:1]")
        return value


class FilterSettings(StrictModel):
    """Which candidates survive filtering; every rule can be switched off with ``None``."""

    mw_da: Window = Field(Window(min=200, max=550), description="Molecular weight window.")
    clogp: Window = Field(Window(min=-1, max=5.5), description="Crippen logP window.")
    tpsa_a2: Window = Field(Window(min=20, max=140), description="Topological PSA, Å².")
    hbd: Window = Field(Window(max=5), description="H-bond donors (Lipinski definition).")
    hba: Window = Field(Window(max=10), description="H-bond acceptors (Lipinski definition).")
    rotatable_bonds: Window = Field(Window(max=10), description="Rotatable bonds.")
    heavy_atoms: Window = Field(Window(min=10, max=40), description="Heavy-atom count.")
    formal_charge: Window = Field(Window(min=-1, max=1), description="Net formal charge.")

    lipinski_max_violations: int | None = Field(
        1, ge=0, le=4, description="Rule of five (MW 500, logP 5, HBD 5, HBA 10): most "
        "violations allowed; None switches the rule off.")
    veber: bool = Field(True, description="Veber: rotatable bonds <= 10 and TPSA <= 140 Å².")
    qed_min: float | None = Field(0.3, ge=0, le=1, description="Lowest QED kept.")
    sa_score_max: float | None = Field(
        6.0, ge=1, le=10, description="Highest synthetic-accessibility score kept (1 easy, 10 hard).")

    alert_catalogs: list[AlertCatalogName] = Field(
        ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK"],
        description="RDKit FilterCatalog alert sets; a match rejects the molecule.")
    user_alerts_smarts: dict[str, str] = Field(
        default_factory=dict, description="Extra alerts, name -> SMARTS.")

    novelty_max_tanimoto: float | None = Field(
        None, ge=0, le=1, description="Reject molecules with a Morgan Tanimoto above this to "
        "any known compound; None switches novelty off.")
    novelty_radius: int = Field(2, ge=1, le=4, description="Morgan radius of the novelty check.")
    novelty_n_bits: int = Field(2048, ge=64, description="Bits of the novelty fingerprint.")

    @field_validator("user_alerts_smarts")
    @classmethod
    def _smarts_parse(cls, value: dict[str, str]) -> dict[str, str]:
        from rdkit import Chem  # imported here so that loading settings stays light

        bad = [name for name, smarts in value.items() if Chem.MolFromSmarts(smarts) is None]
        if bad:
            raise ValueError(f"user_alerts_smarts: invalid SMARTS for {', '.join(bad)}")
        return value
