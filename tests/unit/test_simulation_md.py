"""Complex systems (GB, restraints), per-frame scoring, MD with resume and NaN handling."""

import math
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as unit
import pandas as pd
import pytest
from openmm.app.internal.customgbforces import GBSAOBC2Force
from rdkit import Chem

from moltwin.errors import SimulationError
from simulation.analyse import summarize_frames
from simulation.ligand import parametrize_ligand
from simulation.md import CHECKPOINT_FILE, FRAME_COLUMNS, run_md
from simulation.platform import select_platform
from simulation.pocket import build_pocket
from simulation.scoring import FrameScorer
from simulation.settings import SimulationSettings
from simulation.system import RESTRAINT_GROUP, build_complex_systems, gb_parameters

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"
TINY = SimulationSettings(minimize_max_iterations=20, equilibration_steps=10, production_steps=20,
                          report_interval_steps=5, checkpoint_interval_steps=10)


@pytest.fixture(scope="module")
def platform():
    return select_platform("CPU")


@pytest.fixture(scope="module")
def systems(tyk2_protein):
    protein = tyk2_protein
    mol = next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))
    xyz_nm = mol.GetConformer().GetPositions() / 10.0
    pocket = build_pocket(protein, xyz_nm, radius_angstrom=6.0)
    return build_complex_systems(pocket, parametrize_ligand(mol), xyz_nm)


def _group_energy(system, positions_nm, groups=frozenset({0})):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                             openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions_nm * unit.nanometer)
    return context.getState(getEnergy=True, groups=set(groups)).getPotentialEnergy().value_in_unit(
        unit.kilojoule_per_mole)


def test_gb_radii_match_openmm_mbondi2(systems):
    ours = np.array(gb_parameters(systems.topology))
    reference = np.asarray(GBSAOBC2Force.getStandardParameters(systems.topology))
    assert np.allclose(ours, reference)


def test_complex_system_layout(systems):
    n = systems.topology.getNumAtoms()
    assert systems.complex_system.getNumParticles() == n
    assert len(systems.ligand_atoms) == 32 and systems.ligand_atoms[-1] == n - 1
    forces = {type(f).__name__: f for f in systems.complex_system.getForces()}
    assert "GBSAOBCForce" in forces and "CustomGBForce" not in forces
    assert forces["CustomExternalForce"].getForceGroup() == RESTRAINT_GROUP
    assert forces["CustomExternalForce"].getNumParticles() == len(systems.restrained_atoms) > 0
    h_mass = [systems.complex_system.getParticleMass(a.index).value_in_unit(unit.amu)
              for a in systems.topology.atoms() if a.element.symbol == "H"]
    assert min(h_mass) == pytest.approx(3.0)
    # restraints sit at their minimum in the start structure
    assert _group_energy(systems.complex_system, systems.positions_nm, {RESTRAINT_GROUP}) == \
        pytest.approx(0.0, abs=1e-6)


def test_scorer_mmgbsa_is_complex_minus_parts(systems, platform):
    scorer = FrameScorer(systems, platform)
    row = scorer.score(systems.positions_nm)
    pos = systems.positions_nm
    e_c = _group_energy(systems.complex_system, pos)
    e_r = _group_energy(systems.receptor_system, pos[systems.receptor_atoms])
    e_l = _group_energy(systems.ligand_system, pos[systems.ligand_atoms])
    assert row["e_complex_kj_mol"] == pytest.approx(e_c, rel=1e-4)
    assert row["mmgbsa_kcal_mol"] == pytest.approx((e_c - e_r - e_l) / 4.184, abs=0.05)
    assert -80 < row["mmgbsa_kcal_mol"] < -10  # a bound inhibitor: clearly favourable
    assert row["ligand_rmsd_A"] == pytest.approx(0.0) and row["n_contacts"] > 20
    shifted = pos.copy()
    shifted[systems.ligand_atoms] += [0.1, 0.0, 0.0]
    assert scorer.ligand_rmsd_angstrom(shifted) == pytest.approx(1.0)


def test_scorer_with_another_energy_model_rescores_the_same_frame(systems, platform):
    native = FrameScorer(systems, platform).score(systems.positions_nm)
    obc2_custom = FrameScorer(systems, platform, model=("OBC2", 1.0, 0.0001)).score(systems.positions_nm)
    gbn2 = FrameScorer(systems, platform, model=("GBn2", 1.0, 0.0)).score(systems.positions_nm)
    # the native force's energy passed in is ignored for another model
    passed = FrameScorer(systems, platform, model=("GBn2", 1.0, 0.0)).score(
        systems.positions_nm, complex_energy_kj_mol=0.0)
    assert obc2_custom["mmgbsa_kcal_mol"] == pytest.approx(native["mmgbsa_kcal_mol"], abs=0.05)
    assert abs(gbn2["mmgbsa_kcal_mol"] - native["mmgbsa_kcal_mol"]) > 0.1
    assert passed["mmgbsa_kcal_mol"] == pytest.approx(gbn2["mmgbsa_kcal_mol"], abs=1e-3)  # CPU sums in thread order


def test_run_md_writes_frames_and_resumes(systems, platform, tmp_path):
    result = run_md(systems, TINY, platform, tmp_path)
    assert not result.resumed and result.retries == 0
    frames = pd.read_parquet(result.frames_path)
    assert list(frames.columns) == FRAME_COLUMNS and len(frames) == 4
    assert frames["time_ps"].iloc[-1] == pytest.approx(0.08)
    assert np.isfinite(frames.to_numpy(dtype=float)).all()
    assert result.ns_per_day > 0 and (tmp_path / CHECKPOINT_FILE).is_file()
    summary = summarize_frames(frames)
    assert summary["n_frames"] == 4 and summary["rmsd_max_A"] < 2.0
    # a second call finds the finished checkpoint: no new steps, same frames
    again = run_md(systems, TINY, platform, tmp_path)
    assert again.resumed and again.frames.equals(frames)
    # a longer run continues from the checkpoint and keeps the first frames
    longer = run_md(systems, TINY.model_copy(update={"production_steps": 30}), platform, tmp_path)
    assert longer.resumed and len(longer.frames) == 6
    assert longer.frames.iloc[:4].equals(frames)


def test_nan_energy_retries_then_fails(systems, platform, tmp_path, caplog):
    broken = type(systems)(**{name: getattr(systems, name) for name in systems.__slots__})
    positions = systems.positions_nm.copy()
    positions[systems.ligand_atoms[0]] = np.nan  # stands in for a blown-up trajectory
    broken.positions_nm = positions
    with pytest.raises(SimulationError) as info:
        run_md(broken, TINY, platform, tmp_path)
    assert info.value.reason_code == "nan_energy"
    assert "retrying with half the timestep" in caplog.text
    assert not (tmp_path / CHECKPOINT_FILE).exists()


def test_summary_of_empty_frames_is_nan():
    summary = summarize_frames(pd.DataFrame(columns=FRAME_COLUMNS))
    assert summary["n_frames"] == 0 and math.isnan(summary["mmgbsa_kcal_mol"])
