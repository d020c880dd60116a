"""Explicit solvent: box checks, solvation with NaCl, PME + barostat + HMR, MD on a water box."""

import math
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as unit
import pydantic
import pytest
from rdkit import Chem

from moltwin.errors import SimulationError
from simulation.explicit import check_box, count_solvent, solvate_complex
from simulation.ligand import parametrize_ligand
from simulation.md import run_md
from simulation.platform import select_platform
from simulation.pocket import build_pocket
from simulation.run import SimulationRequest, simulate_ligand
from simulation.scoring import FrameScorer
from simulation.settings import SimulationSettings
from simulation.system import add_positional_restraints, build_complex_systems

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"
# A small box so that the test runs in seconds: 0.5 nm of water, 0.8 nm cutoff.
SMALL_BOX = SimulationSettings(mode="explicit", box_padding_nm=0.5, nonbonded_cutoff_nm=0.8,
                               minimize_max_iterations=20, equilibration_steps=10,
                               production_steps=20, report_interval_steps=10)


@pytest.fixture(scope="module")
def ejm31():
    return next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))


@pytest.fixture(scope="module")
def pocket_systems(tyk2_protein, ejm31):
    # The mechanics are tested on a 5 Å pocket: simulate_ligand only ever solvates the
    # whole protein, which takes minutes on two CPU cores (see the slow test below).
    protein = tyk2_protein
    xyz_nm = ejm31.GetConformer().GetPositions() / 10.0
    ligand = parametrize_ligand(ejm31)
    pocket = build_pocket(protein, xyz_nm, radius_angstrom=5.0)
    return build_complex_systems(pocket, ligand, xyz_nm, restraint_k_kj_mol_nm2=0.0), ligand


@pytest.fixture(scope="module")
def solvated(pocket_systems):
    systems, ligand = pocket_systems
    return solvate_complex(systems, ligand, SMALL_BOX)


def test_box_checks():
    xyz = np.random.default_rng(0).uniform(0, 3.0, size=(50, 3))
    edge = check_box(xyz, 1.0, 0.9)
    assert edge == pytest.approx(np.linalg.norm(xyz.max(0) - xyz.min(0)) + 2.0)
    with pytest.raises(SimulationError) as info:
        check_box(xyz, 0.3, 0.9)  # images 0.6 nm apart, cutoff 0.9 nm
    assert info.value.reason_code == "box_too_small" and "own copy" in str(info.value)
    with pytest.raises(SimulationError) as info:
        check_box(np.zeros((1, 3)), 0.45, 0.9)  # 0.9 nm box < 2 x cutoff
    assert info.value.reason_code == "box_too_small"


def test_explicit_mode_means_whole_protein():
    assert SimulationSettings(mode="explicit").pocket_radius_angstrom is None
    assert SimulationSettings(mode="explicit", pocket_radius_angstrom=None).mode == "explicit"
    with pytest.raises(pydantic.ValidationError, match="whole protein"):
        SimulationSettings(mode="explicit", pocket_radius_angstrom=8.0)
    assert SimulationSettings().pocket_radius_angstrom == 8.0  # implicit default unchanged


def test_solvated_system_layout(pocket_systems, solvated):
    systems, _ = pocket_systems
    n_solute = systems.topology.getNumAtoms()
    assert solvated.n_solute_atoms == n_solute and solvated.periodic
    names = [a.name for a in solvated.topology.atoms()]
    assert names[:n_solute] == [a.name for a in systems.topology.atoms()]
    assert np.allclose(solvated.positions_nm[:n_solute], systems.positions_nm, atol=1e-6)
    forces = {type(f).__name__: f for f in solvated.system.getForces()}
    assert forces["NonbondedForce"].getNonbondedMethod() == openmm.NonbondedForce.PME
    assert forces["NonbondedForce"].getCutoffDistance().value_in_unit(unit.nanometer) == \
        pytest.approx(0.8)
    assert "MonteCarloBarostat" in forces and "GBSAOBCForce" not in forces
    counts = count_solvent(solvated)
    assert counts["n_waters"] > 500
    # neutral box: ions cancel the complex's net charge; NaCl pairs match 0.15 M
    gb = next(f for f in systems.complex_system.getForces() if isinstance(f, openmm.NonbondedForce))
    net = round(sum(gb.getParticleParameters(i)[0].value_in_unit(unit.elementary_charge)
                    for i in range(gb.getNumParticles())))
    assert counts["n_na"] - counts["n_cl"] == -net
    pairs = min(counts["n_na"], counts["n_cl"])
    assert abs(pairs - 0.15 * counts["n_waters"] / 55.4) <= 1.5
    masses = {(a.residue.name == "HOH", a.element.symbol): solvated.system.getParticleMass(
        a.index).value_in_unit(unit.amu) for a in solvated.topology.atoms() if a.element.symbol == "H"}
    assert masses[(False, "H")] == pytest.approx(3.0) and masses[(True, "H")] == pytest.approx(1.008, abs=1e-3)


def test_restraints_use_minimum_image_under_pbc(solvated):
    system = openmm.XmlSerializer.clone(solvated.system)
    force = add_positional_restraints(system, [0], solvated.positions_nm, 10.0)
    assert "periodicdistance" in force.getEnergyFunction()


def test_md_on_water_box_scores_stripped_frames(pocket_systems, solvated, tmp_path):
    systems, _ = pocket_systems
    result = run_md(systems, SMALL_BOX, select_platform("CPU"), tmp_path, dynamics=solvated,
                    fit_rmsd=True)
    frames = result.frames
    assert len(frames) == 2 and np.isfinite(frames.to_numpy(dtype=float)).all()
    # the box energy includes thousands of waters; the complex GB energy does not
    assert (frames["potential_energy_kj_mol"] < frames["e_complex_kj_mol"] - 1e4).all()
    assert (frames["mmgbsa_kcal_mol"] < 0).all() and (frames["n_contacts"] > 10).all()
    assert frames["ligand_rmsd_A"].max() < 2.0
    assert result.wall_ns_per_day > 0 and result.ns_per_day >= result.wall_ns_per_day
    # the checkpoint carries the barostat's box: a longer run resumes from it
    longer = run_md(systems, SMALL_BOX.model_copy(update={"production_steps": 30}),
                    select_platform("CPU"), tmp_path, dynamics=solvated, fit_rmsd=True)
    assert longer.resumed and len(longer.frames) == 3
    assert longer.frames.iloc[:2].equals(frames)


def _posed_request(mol, tmp_path) -> SimulationRequest:
    """A request for ``mol`` (ejm_31) in its own pose, written to an SDF under ``tmp_path``."""
    pose = tmp_path / "ejm31.sdf"
    with Chem.SDWriter(str(pose)) as writer:
        writer.write(mol)
    return SimulationRequest("ejm_31", Chem.MolToSmiles(Chem.RemoveHs(mol)), DATA / "protein.pdb",
                             pose_sdf=pose)


def test_box_too_small_is_a_failure_record(tmp_path, ejm31):
    request = _posed_request(ejm31, tmp_path)
    settings = SimulationSettings(mode="explicit", box_padding_nm=0.3, platform="CPU")
    record = simulate_ligand(request, settings, tmp_path / "work")
    assert record.status == "failed" and record.reason_code == "box_too_small", record.message
    assert record.mode == "explicit" and record.pose_method == "provided"


@pytest.mark.slow
def test_explicit_whole_protein_few_steps(tmp_path, ejm31):
    request = _posed_request(ejm31, tmp_path)
    settings = SimulationSettings(mode="explicit", platform="CPU", minimize_max_iterations=20,
                                  equilibration_steps=10, production_steps=20,
                                  report_interval_steps=10)
    record = simulate_ligand(request, settings, tmp_path / "work")
    assert record.status == "ok", record.message
    assert record.n_atoms > 40_000 and "TIP3P/PME" in record.force_field
    assert any("waters" in n for n in record.notes)
    assert math.isfinite(record.mmgbsa_kcal_mol) and record.mmgbsa_kcal_mol < 0


def test_fitted_rmsd_ignores_rigid_motion_of_the_complex(pocket_systems):
    systems, _ = pocket_systems
    angle = 0.5
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                         [0, 0, 1.0]])
    moved = systems.positions_nm @ rotation.T + np.array([1.0, -2.0, 0.5])
    fitted = FrameScorer(systems, select_platform("CPU"), fit_rmsd=True)
    assert fitted.ligand_rmsd_angstrom(moved) == pytest.approx(0.0, abs=1e-6)
    assert FrameScorer(systems, select_platform("CPU")).ligand_rmsd_angstrom(moved) > 5.0
