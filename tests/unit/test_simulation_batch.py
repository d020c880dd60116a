"""Batches: bad inputs become failure records, a vanished GPU is replaced, GPU concurrency."""

import math
from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

import simulation.run as run_module
from simulation.parallel import concurrency_for, run_in_processes, simulate_batch
from simulation.platform import PlatformChoice, next_platform
from simulation.run import SimulationRequest
from simulation.settings import SimulationSettings

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"
FEW_STEPS = SimulationSettings(platform="CPU", pocket_radius_angstrom=6.0, minimize_max_iterations=20,
                               equilibration_steps=10, production_steps=20, report_interval_steps=5)


@pytest.fixture(scope="module")
def ejm31():
    return next(iter(Chem.SDMolSupplier(str(DATA / "ligands.sdf"), removeHs=False)))


def _sdf(mol, path: Path) -> Path:
    with Chem.SDWriter(str(path)) as writer:
        writer.write(mol)
    return path


def _smiles(mol) -> str:
    return Chem.MolToSmiles(Chem.RemoveHs(mol))


def test_bad_inputs_and_a_vanished_gpu_fail_alone_and_the_batch_completes(tmp_path, ejm31,
                                                                           monkeypatch):
    # The GPU passed its probe but can no longer create a Context: an unknown property
    # fails at context creation on any OpenCL, and a missing OpenCL plugin fails there too.
    vanished = PlatformChoice("OpenCL", {"Precision": "mixed", "NoSuchProperty": "1"})
    monkeypatch.setattr(run_module, "select_platform", lambda *a, **k: vanished)
    ligand_only = tmp_path / "ligand_only.pdb"  # e.g. the ligand's PDB given as the protein
    ligand_only.write_text(Chem.MolToPDBBlock(ejm31))
    flat = Chem.Mol(ejm31)
    AllChem.Compute2DCoords(flat)
    boronic = "OB(O)c1ccc(NC(=O)c2c(Cl)cccc2Cl)cc1"
    requests = [
        SimulationRequest("no_protein", _smiles(ejm31), ligand_only,
                          pose_sdf=_sdf(ejm31, tmp_path / "np.sdf")),
        SimulationRequest("good", _smiles(ejm31), DATA / "protein.pdb",
                          pose_sdf=_sdf(ejm31, tmp_path / "good.sdf")),
        SimulationRequest("flat", _smiles(ejm31), DATA / "protein.pdb",
                          pose_sdf=_sdf(flat, tmp_path / "flat.sdf")),
        SimulationRequest("no_h", _smiles(ejm31), DATA / "protein.pdb",
                          pose_sdf=_sdf(Chem.RemoveHs(ejm31), tmp_path / "noh.sdf")),
        SimulationRequest("boron", boronic, DATA / "protein.pdb", DATA / "ligands.sdf"),
    ]
    records = {r.compound_id: r for r in simulate_batch(requests, FEW_STEPS, tmp_path / "work")}
    assert list(records) == [r.compound_id for r in requests]
    good = records["good"]
    assert good.status == "ok", good.message
    assert good.pose_method == "provided" and good.mode == "implicit"
    assert math.isfinite(good.mmgbsa_kcal_mol)
    assert good.platform == "CPU"
    assert any("OpenCL failed at context creation" in n and "retried on CPU" in n
               for n in good.notes)
    expected = {"no_protein": "no_protein", "flat": "no_3d_coordinates",
                "no_h": "missing_hydrogens", "boron": "unsupported_element"}
    for compound_id, reason in expected.items():
        record = records[compound_id]
        assert (record.status, record.reason_code) == ("failed", reason), record.message
        assert record.message


def test_platform_fallback_order():
    after_cuda = next_platform("CUDA")
    assert after_cuda is not None and after_cuda.name in {"OpenCL", "CPU"}
    assert next_platform("CPU").name == "Reference"
    assert next_platform("Reference") is None


def test_cpu_runs_one_at_a_time():
    assert concurrency_for(SimulationSettings(platform="CPU", simulations_per_gpu=4)) == (1, "CPU")


def test_worker_processes_return_records_in_order(tmp_path):
    requests = [SimulationRequest(f"b{i}", "OB(O)c1ccccc1", DATA / "protein.pdb", DATA / "ligands.sdf")
                for i in range(3)]
    requests.insert(1, SimulationRequest("broken", "C1CC(N", DATA / "protein.pdb",
                                         DATA / "ligands.sdf"))
    done = []
    records = run_in_processes(requests, FEW_STEPS, tmp_path, 2, on_done=done.append)
    assert [r.compound_id for r in records] == ["b0", "broken", "b1", "b2"]
    assert [r.reason_code for r in records] == ["unsupported_element", "unparsable_smiles",
                                                "unsupported_element", "unsupported_element"]
    assert len(done) == 4


def test_cli_rejects_unknown_mode_and_pose_method(tmp_path):
    from moltwin.errors import BadInputError
    from interfaces.cli.simulate_cmd import simulate_files

    ligands = tmp_path / "l.smi"
    ligands.write_text("CCO ethanol\n")
    for option in ({"mode": "vacuum"}, {"pose_method": "guess"}):
        with pytest.raises(BadInputError, match="mode|pose_method"):
            simulate_files(DATA / "protein.pdb", ligands, DATA / "ligands.sdf", None, "CPU",
                           tmp_path / "out", **option)
