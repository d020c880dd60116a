"""Settings of the simulation stage (one pydantic model, units in field names).

The defaults are sized for the CPU demo: a pocket of the protein (residues
within 8 Å of the ligand) in implicit solvent, 4 fs steps with hydrogen mass
repartitioning and a few picoseconds of production per ligand, so that one
ligand takes about a minute on two CPU cores. On a GPU, set
``pocket_radius_angstrom=None`` (whole protein) and raise the step counts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from moltwin.settings_base import StrictModel

PlatformName = Literal["auto", "CUDA", "OpenCL", "CPU", "Reference"]
ChargeMethod = Literal["nagl", "am1bcc", "mmff94"]


class SimulationSettings(StrictModel):
    """How one protein–ligand complex is prepared, simulated and scored."""

    # --- hardware -----------------------------------------------------------------
    platform: PlatformName = Field(
        "auto", description="OpenMM platform; 'auto' probes CUDA, OpenCL, then CPU.")
    cpu_threads: int | None = Field(
        None, ge=1, description="Threads for the CPU platform; None lets OpenMM decide.")

    # --- protein and pocket ---------------------------------------------------------
    protonation_ph: float = Field(7.4, ge=0, le=14, description="pH for PDBFixer hydrogens.")
    keep_water: bool = Field(False, description="Keep crystal waters in protein preparation.")
    pocket_radius_angstrom: float | None = Field(
        8.0, gt=0, description="Keep residues with any atom this close to the ligand; "
        "None simulates the whole protein.")
    pocket_max_gap_residues: int = Field(
        2, ge=0, description="Fill gaps of at most this many residues between pocket segments.")
    flexible_radius_angstrom: float = Field(
        5.0, ge=0, description="Pocket residues farther than this from the ligand are held "
        "by restraints on all heavy atoms; nearer ones only on CA.")
    restraint_k_kj_mol_nm2: float = Field(
        1000.0, ge=0, description="Force constant of the positional restraints.")

    # --- ligand -------------------------------------------------------------------
    ligand_force_field: str = Field("gaff-2.11", description="GAFF version for the ligand.")
    charge_methods: tuple[ChargeMethod, ...] = Field(
        ("nagl", "am1bcc", "mmff94"), min_length=1,
        description="Partial-charge methods tried in order until one works.")
    nagl_model: str = Field("openff-gnn-am1bcc-1.0.0.pt", description="NAGL charge model file.")
    sqm_timeout_s: float = Field(120.0, gt=0, description="Time limit of one sqm AM1-BCC run.")
    clash_distance_angstrom: float = Field(
        1.0, ge=0, description="A pose with a ligand–protein heavy-atom pair closer than this "
        "is rejected as implausible.")

    # --- dynamics -------------------------------------------------------------------
    temperature_kelvin: float = Field(300.0, gt=0)
    friction_per_ps: float = Field(1.0, gt=0)
    timestep_fs: float = Field(4.0, gt=0, le=5.0)
    hydrogen_mass_amu: float = Field(
        3.0, ge=1.0, description="Hydrogen mass after repartitioning (1.008 turns it off).")
    minimize_max_iterations: int = Field(
        100, ge=0, description="L-BFGS iterations; each costs ~0.1 s for a pocket on CPU.")
    equilibration_steps: int = Field(250, ge=0, description="Steps with all heavy atoms restrained.")
    production_steps: int = Field(1250, ge=1)
    report_interval_steps: int = Field(50, ge=1)
    checkpoint_interval_steps: int = Field(
        2500, ge=1, description="Write a restart checkpoint every this many production steps.")
    seed: int = Field(2024, ge=0)

    @model_validator(mode="after")
    def _check_intervals(self) -> "SimulationSettings":
        if self.report_interval_steps > self.production_steps:
            raise ValueError("report_interval_steps must not exceed production_steps")
        return self

    @property
    def production_ps(self) -> float:
        """Length of the production run in picoseconds."""
        return self.production_steps * self.timestep_fs / 1000.0
