"""Settings of the simulation stage (one pydantic model, units in field names).

The defaults are the protocol study's winner (``bench/physics_protocols.py``,
docs/simulation.md): a pocket of the protein (residues within 8 Å of the
ligand) in implicit solvent, L-BFGS to convergence, MM/GBSA with GBn2 at that
minimum as the binding estimate (``binding_estimate="minimized"``), then one
3 ps MD run (4 fs steps, hydrogen mass repartitioning) for the pose stability
and the sampling error of the same energy model, about 1–2 minutes per ligand
on two CPU cores. On a GPU, set ``pocket_radius_angstrom=None`` (whole
protein) and ``md_replicas=3``.
``mode="explicit"`` (TIP3P, PME, 0.15 M NaCl, barostat) always simulates the
whole protein: a cut pocket has no place in a periodic water box.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from moltwin.settings_base import StrictModel

PlatformName = Literal["auto", "CUDA", "OpenCL", "CPU", "Reference"]
ChargeMethod = Literal["nagl", "am1bcc", "mmff94"]
SolventMode = Literal["implicit", "explicit"]
PoseMethod = Literal["auto", "mcs", "dock"]
PoseCheck = Literal["reject", "warn", "off"]
LigandProtonation = Literal["pka_rules", "dimorphite", "keep"]

_EXPLICIT_POCKET = (
    "explicit solvent simulates the whole protein: set pocket_radius_angstrom to null. "
    "A cut pocket cannot sit in a periodic water box: its cut ends and ACE/NME caps "
    "would be solvated like real protein surface and its restrained boundary would fight "
    "the barostat.")


class SimulationSettings(StrictModel):
    """How one protein–ligand complex is prepared, simulated and scored."""

    # --- hardware -----------------------------------------------------------------
    platform: PlatformName = Field(
        "auto", description="OpenMM platform; 'auto' probes CUDA, OpenCL, then CPU.")
    cpu_threads: int | None = Field(
        None, ge=1, description="Threads for the CPU platform; None lets OpenMM decide.")
    simulations_per_gpu: int = Field(
        2, ge=1, le=16, description="Concurrent simulations (processes) sharing one GPU in "
        "batch runs; CPU platforms always run one at a time.")

    # --- solvent --------------------------------------------------------------------
    mode: SolventMode = Field(
        "implicit", description="'implicit': GB OBC2 (fast screening; pocket or whole protein); "
        "'explicit': TIP3P water box with PME, NaCl and a barostat (whole protein).")
    box_padding_nm: float = Field(
        1.0, gt=0, description="Explicit mode: water between the complex and the box faces.")
    ionic_strength_molar: float = Field(
        0.15, ge=0, le=2.0, description="Explicit mode: NaCl concentration (plus neutralizing ions).")
    nonbonded_cutoff_nm: float = Field(
        0.9, ge=0.7, le=1.5, description="Explicit mode: real-space cutoff of PME and Lennard-Jones.")
    pressure_bar: float = Field(1.0, gt=0, description="Explicit mode: barostat pressure.")
    barostat_interval_steps: int = Field(25, ge=1, description="Explicit mode: MC barostat interval.")

    # --- protein and pocket ---------------------------------------------------------
    protonation_ph: float = Field(
        7.4, ge=0, le=14, description="pH for PDBFixer hydrogens and ligand protonation.")
    keep_water: bool = Field(False, description="Keep crystal waters in protein preparation.")
    pocket_radius_angstrom: float | None = Field(
        8.0, gt=0, description="Keep residues with any atom this close to the ligand; "
        "None simulates the whole protein (always None in explicit mode).")
    pocket_max_gap_residues: int = Field(
        2, ge=0, description="Fill gaps of at most this many residues between pocket segments.")
    flexible_radius_angstrom: float = Field(
        5.0, ge=0, description="Implicit mode: protein residues farther than this from the "
        "ligand have their backbone restrained (caps: all heavy atoms).")
    restraint_k_kj_mol_nm2: float = Field(
        1000.0, ge=0, description="Force constant of the positional restraints.")

    # --- pose -------------------------------------------------------------------------
    pose_method: PoseMethod = Field(
        "auto", description="How SMILES ligands are posed: 'mcs' on the most similar reference, "
        "'dock' with AutoDock Vina in a box around the references, 'auto' = MCS, and Vina "
        "when the ligand shares no core with any reference or its MCS pose fails the checks.")
    dock_exhaustiveness: int = Field(8, ge=1, le=64, description="Vina search exhaustiveness.")
    dock_box_padding_angstrom: float = Field(
        6.0, ge=2.0, description="Vina box = extent of the reference ligands plus this on each side.")
    pose_check: PoseCheck = Field(
        "reject", description="PoseBusters plausibility checks before MD: 'reject' makes a failing "
        "pose a failure record, 'warn' only notes it, 'off' skips the checks.")
    relax_failed_poses: bool = Field(
        True, description="A provided pose failing only protein-contact checks (clash, volume "
        "overlap) gets a restrained relaxation of ligand and nearby side chains, then the "
        "checks again; rejected only if it still fails (both verdicts recorded).")
    mcs_embeddings: int = Field(5, ge=1, le=50, description="MCS embeddings tried per ligand.")
    mcs_embedding_choice: Literal["vina", "clash"] = Field(
        "vina", description="Choose among MCS embeddings by Vina score after local optimization "
        "in the protein ('vina'), or by the fewest close contacts then core RMSD ('clash').")
    clash_distance_angstrom: float = Field(
        1.0, ge=0, description="A pose with a ligand–protein heavy-atom pair closer than this "
        "is rejected as implausible.")

    # --- ligand -------------------------------------------------------------------
    ligand_protonation: LigandProtonation = Field(
        "pka_rules", description="SMILES ligands without formal charges get their most likely "
        "single protonation state at protonation_ph from a pKa rule table with site coupling "
        "('pka_rules'), or from dimorphite-dl with a |charge| <= 1 guard ('dimorphite'); 'keep' "
        "uses them as given. "
        "Provided poses (SDF) always keep their own hydrogens.")
    add_missing_hydrogens: bool = Field(
        False, description="A provided pose without hydrogens gets them from RDKit (with "
        "coordinates) instead of being a failure record.")
    ligand_force_field: str = Field("gaff-2.11", description="GAFF version for the ligand.")
    charge_methods: tuple[ChargeMethod, ...] = Field(
        ("nagl", "am1bcc", "mmff94"), min_length=1,
        description="Partial-charge methods tried in order until one works.")
    nagl_model: str = Field("openff-gnn-am1bcc-1.0.0.pt", description="NAGL charge model file.")
    nagl_timeout_s: float = Field(
        60.0, gt=0, description="Time limit of NAGL on one ligand (large conjugated systems "
        "can take hours in its resonance enumeration).")
    sqm_timeout_s: float = Field(120.0, gt=0, description="Time limit of one sqm AM1-BCC run.")

    # --- dynamics -------------------------------------------------------------------
    temperature_kelvin: float = Field(300.0, gt=0)
    friction_per_ps: float = Field(1.0, gt=0)
    timestep_fs: float = Field(4.0, gt=0, le=5.0)
    hydrogen_mass_amu: float = Field(
        3.0, ge=1.0, description="Hydrogen mass after repartitioning (1.008 turns it off).")
    minimize_max_iterations: int = Field(
        100, ge=0, description="L-BFGS iterations; each costs ~0.1 s for a pocket on CPU.")
    minimize_until_converged: bool = Field(
        True, description="After minimize_max_iterations, continue L-BFGS until converged "
        "(10 kJ/mol/nm): 5–45 CPU s more for a JACS pocket; the minimized single-point score "
        "(mmgbsa_minimized_kcal_mol, the default binding estimate) is then taken at a real local "
        "minimum.")

    # --- scoring (MM/GBSA energy model; dynamics always use native OBC2) -------------------
    scoring_gb_model: Literal["OBC2", "GBn2"] = Field(
        "GBn2", description="GB model of the MM/GBSA energies: OBC2 (mbondi2) or GBn2 (mbondi3).")
    scoring_solute_dielectric: float = Field(
        1.0, ge=1.0, le=20.0, description="Interior dielectric of the MM/GBSA energies "
        "(scales Coulomb and enters the GB term).")
    scoring_salt_molar: float = Field(
        0.0, ge=0.0, le=2.0, description="Debye–Hückel salt screening of the MM/GBSA GB term.")
    binding_estimate: Literal["minimized", "md_average"] = Field(
        "minimized", description="What mmgbsa_kcal_mol is: the single point at the minimum "
        "('minimized') or the mean over the MD frames of all replicas ('md_average'); the other "
        "is kept as mmgbsa_minimized_kcal_mol / mmgbsa_md_kcal_mol.")
    stable_rmsd_mean_angstrom: float = Field(
        0.84, gt=0, description="A pose counts as stable (record.pose_stable) when the ligand's mean "
        "heavy-atom RMSD to its input pose over the production frames is at most this: the "
        "measure and threshold that separated native JACS poses from flipped/shifted/rotated ones "
        "in bench/pose_stability.py (docs/simulation.md).")
    equilibration_steps: int = Field(250, ge=0, description="Steps with all heavy atoms restrained.")
    md_replicas: int = Field(
        1, ge=1, le=16, description="Independent MD runs from the same minimized start with "
        "different velocities (seed, seed+1, ...); the MM/GBSA estimate is the mean of the replica "
        "means, its SE the larger of the between-replica and combined within-replica errors.")
    production_steps: int = Field(
        750, ge=1, description="3 ps at 4 fs: the length at which bench/pose_stability.py measured "
        "the stability gate (MD no longer makes the binding estimate).")
    report_interval_steps: int = Field(50, ge=1)
    checkpoint_interval_steps: int = Field(
        2500, ge=1, description="Write a restart checkpoint every this many production steps.")
    seed: int = Field(2024, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _explicit_means_whole_protein(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("mode") == "explicit":
            if "pocket_radius_angstrom" not in data:
                data = {**data, "pocket_radius_angstrom": None}
            elif data["pocket_radius_angstrom"] is not None:
                raise ValueError(_EXPLICIT_POCKET)
        return data

    @model_validator(mode="after")
    def _check_intervals(self) -> "SimulationSettings":
        if self.report_interval_steps > self.production_steps:
            raise ValueError("report_interval_steps must not exceed production_steps")
        return self

    @property
    def production_ps(self) -> float:
        """Length of the production run in picoseconds."""
        return self.production_steps * self.timestep_fs / 1000.0
