"""Protonation at pH 7.4, provided-pose checks, PoseBusters plausibility, Vina docking."""

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from moltwin.errors import SimulationError
from simulation.dock import docking_box
from simulation.placement import place_ligand
from simulation.plausibility import failed_pose_checks
from simulation.pose import pose_from_sdf, read_reference_ligands
from simulation.protonate import protonate_for_ph
from simulation.settings import SimulationSettings

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"


@pytest.fixture(scope="module")
def protein(tyk2_protein):
    return tyk2_protein


@pytest.fixture(scope="module")
def references():
    return read_reference_ligands(DATA / "ligands.sdf")


def _by_name(references, name):
    return next(r for r in references if r.GetProp("_Name") == name)


def _write(mol, path):
    with Chem.SDWriter(str(path)) as writer:
        writer.write(mol)
    return path


@pytest.mark.parametrize("smiles, expected, changed", [
    ("CCN", "CC[NH3+]", True),                                  # primary amine, pKa ~10.7
    ("OC(=O)c1ccccc1", "O=C([O-])c1ccccc1", True),              # benzoic acid, pKa 4.2
    ("NCC(=O)O", "[NH3+]CC(=O)[O-]", True),                     # zwitterion passes the guard
    ("CC(=O)Nc1cc(NC(=O)c2c(Cl)cccc2Cl)ccn1", None, False),     # Tyk2 series: stays neutral
    ("CN1CCN(C)CC1", None, False),                              # dimorphite says +2: guarded
    ("C[NH3+]", None, False),                                   # given charges are kept
])
def test_dimorphite_protonation_at_ph_7_4(smiles, expected, changed):
    result, note = protonate_for_ph(smiles, 7.4, method="dimorphite")
    given = Chem.MolToSmiles(Chem.MolFromSmiles(smiles))
    assert result == (Chem.MolToSmiles(Chem.MolFromSmiles(expected)) if expected else given)
    assert note.startswith("protonated") == changed
    if smiles == "CN1CCN(C)CC1":
        assert "net charge +2" in note


def test_posebusters_passes_good_pose_and_names_failures(protein, references):
    assert failed_pose_checks(_by_name(references, "ejm_31"), protein.path) == ([], [])
    # jmc_30 as shipped has a 1.47 Å nitrile C≡N bond (should be ~1.16 Å)
    failed, _ = failed_pose_checks(_by_name(references, "jmc_30"), protein.path)
    assert "bond_lengths" in failed
    # a ligand pushed 3 Å into the protein wall clashes
    shifted = Chem.Mol(references[0])
    conf = shifted.GetConformer()
    for i in range(shifted.GetNumAtoms()):
        p = conf.GetAtomPosition(i)
        conf.SetAtomPosition(i, (p.x + 3.0, p.y, p.z))
    failed, _ = failed_pose_checks(shifted, protein.path)
    assert "minimum_distance_to_protein" in failed


def test_provided_pose_failures_and_warn_mode(protein, references, tmp_path):
    heavy = protein.heavy_atom_positions_nm() * 10.0
    bad = _write(_by_name(references, "jmc_30"), tmp_path / "jmc30.sdf")
    with pytest.raises(SimulationError) as info:
        place_ligand("CCO", SimulationSettings(), protein.path, heavy, pose_sdf=bad)
    assert info.value.reason_code == "pose_mismatch"  # SMILES must match the pose
    smiles = Chem.MolToSmiles(Chem.RemoveHs(_by_name(references, "jmc_30")))
    with pytest.raises(SimulationError) as info:
        place_ligand(smiles, SimulationSettings(), protein.path, heavy, pose_sdf=bad)
    assert info.value.reason_code == "implausible_pose" and "bond_lengths" in str(info.value)
    warned = place_ligand(smiles, SimulationSettings(pose_check="warn"), protein.path, heavy,
                          pose_sdf=bad)
    assert warned.method == "provided" and any("bond_lengths" in n for n in warned.notes)


def test_pose_without_3d_or_hydrogens(references, tmp_path):
    flat = Chem.Mol(references[0])
    AllChem.Compute2DCoords(flat)
    with pytest.raises(SimulationError) as info:
        pose_from_sdf(_write(flat, tmp_path / "flat.sdf"))
    assert info.value.reason_code == "no_3d_coordinates"
    heavy_only = _write(Chem.RemoveHs(references[0]), tmp_path / "noh.sdf")
    with pytest.raises(SimulationError) as info:
        pose_from_sdf(heavy_only)
    assert info.value.reason_code == "missing_hydrogens" and "hydrogen" in str(info.value)
    fixed = pose_from_sdf(heavy_only, add_missing_hydrogens=True)
    assert fixed.GetNumAtoms() == references[0].GetNumAtoms()
    assert fixed.GetIntProp("pose_hydrogens_added") == references[0].GetNumAtoms() - \
        Chem.RemoveHs(references[0]).GetNumAtoms()


def test_docking_box_covers_references(references):
    centre, size = docking_box(references, 6.0)
    xyz = np.vstack([r.GetConformer().GetPositions() for r in references])
    heavy = np.vstack([Chem.RemoveHs(r).GetConformer().GetPositions() for r in references])
    assert np.all(np.abs(heavy - centre) <= np.asarray(size) / 2 - 6.0 + 1e-6)
    assert np.allclose(centre, xyz.mean(axis=0), atol=3.0)


def test_auto_docks_a_ligand_without_common_core(protein):
    """(S)-3-hydroxytetrahydrofuran shares no core with the Tyk2 series: Vina places it."""
    settings = SimulationSettings(dock_exhaustiveness=1)
    heavy = protein.heavy_atom_positions_nm() * 10.0
    placed = place_ligand("O[C@H]1CCOC1", settings, protein.path, heavy,
                          reference_ligands_sdf=DATA / "ligands.sdf")
    assert placed.method == "dock" and placed.reference.startswith("vina rank")
    assert any("no_common_core" in n for n in placed.notes)
    mol = placed.mol
    assert mol.GetNumAtoms() == Chem.AddHs(Chem.MolFromSmiles("O[C@H]1CCOC1")).GetNumAtoms()
    centre, size = docking_box(read_reference_ligands(DATA / "ligands.sdf"), 6.0)
    xyz = mol.GetConformer().GetPositions()
    assert np.all(np.abs(xyz - centre) <= np.asarray(size) / 2 + 2.0)  # inside the box (+H)
    with pytest.raises(SimulationError) as info:  # 'mcs' alone does not fall back
        place_ligand("O[C@H]1CCOC1", settings.model_copy(update={"pose_method": "mcs"}), protein.path,
                     heavy, reference_ligands_sdf=DATA / "ligands.sdf")
    assert info.value.reason_code == "no_common_core"


def test_checks_fail_closed_when_they_cannot_run(protein, references, tmp_path):
    """A protein PoseBusters cannot read leaves the pose 'unchecked', never 'passed'."""
    from simulation.plausibility import pose_verdict

    assert pose_verdict([], []) == "passed"
    assert pose_verdict([], ["could not run"]) == "unchecked"
    assert pose_verdict(["bond_lengths"], ["could not run"]) == "failed"
    broken = tmp_path / "broken.pdb"
    broken.write_text("this is not a PDB file\n")
    heavy = protein.heavy_atom_positions_nm() * 10.0
    pose = _write(_by_name(references, "ejm_31"), tmp_path / "ejm31.sdf")
    smiles = Chem.MolToSmiles(Chem.RemoveHs(_by_name(references, "ejm_31")))
    good = place_ligand(smiles, SimulationSettings(), protein.path, heavy, pose_sdf=pose)
    assert good.check_status == "passed"
    unchecked = place_ligand(smiles, SimulationSettings(), broken, heavy, pose_sdf=pose)
    assert unchecked.check_status == "unchecked"
    assert any("unchecked" in n for n in unchecked.notes)


def _pushed_into_protein(mol, protein_heavy_A, contact_A=0.9):
    """The pose moved as a whole until its closest heavy-atom contact is ``contact_A``."""
    from scipy.spatial import cKDTree

    mol = Chem.Mol(mol)
    xyz = mol.GetConformer().GetPositions()
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    dist, nearest = cKDTree(protein_heavy_A).query(xyz[heavy])
    k = int(np.argmin(dist))
    direction = protein_heavy_A[nearest[k]] - xyz[heavy][k]
    shift = direction / np.linalg.norm(direction) * (dist[k] - contact_A)
    conf = mol.GetConformer()
    for i in range(mol.GetNumAtoms()):
        conf.SetAtomPosition(i, (xyz[i] + shift).tolist())
    return mol


def test_clashing_provided_pose_is_marked_for_relaxation_not_rejected(protein, references, tmp_path):
    heavy = protein.heavy_atom_positions_nm() * 10.0
    pushed = _pushed_into_protein(_by_name(references, "ejm_31"), heavy)
    path = _write(pushed, tmp_path / "pushed.sdf")
    smiles = Chem.MolToSmiles(Chem.RemoveHs(pushed))
    placed = place_ligand(smiles, SimulationSettings(), protein.path, heavy, pose_sdf=path)
    assert placed.check_status == "failed" and "pose_clash" in placed.relax_for
    with pytest.raises(SimulationError) as info:  # without relaxation the clash is fatal
        place_ligand(smiles, SimulationSettings(relax_failed_poses=False), protein.path, heavy,
                     pose_sdf=path)
    assert info.value.reason_code == "pose_clash"


@pytest.mark.slow
def test_relaxed_pose_is_checked_again_and_simulated(protein, references, tmp_path):
    """A pose pushed 1.8 Å into the protein wall (0.9 Å contact) passes after relaxation."""
    from simulation.run import SimulationRequest, simulate_ligand

    heavy = protein.heavy_atom_positions_nm() * 10.0
    pushed = _pushed_into_protein(_by_name(references, "ejm_31"), heavy)
    path = _write(pushed, tmp_path / "pushed.sdf")
    settings = SimulationSettings(minimize_max_iterations=20, equilibration_steps=10,
                                  production_steps=20, report_interval_steps=5,
                                  checkpoint_interval_steps=10, pocket_radius_angstrom=6.0)
    record = simulate_ligand(SimulationRequest("pushed", Chem.MolToSmiles(Chem.RemoveHs(pushed)),
                                               DATA / "protein.pdb", pose_sdf=path),
                             settings, tmp_path / "md")
    assert record.status == "ok", record.message
    assert record.pose_check_before_relaxation == "failed"
    assert record.pose_check_status == "passed"
    assert any("restrained relaxation" in n for n in record.notes)
