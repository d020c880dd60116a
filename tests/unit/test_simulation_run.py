"""simulate_ligand end to end: ok records, failure records, caching; slow demo-settings run."""

import json
import math
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.md import FRAME_COLUMNS
from simulation.run import SimulationRecord, SimulationRequest, simulate_ligand
from simulation.settings import SimulationSettings

DATA = Path(__file__).resolve().parents[2] / "data" / "tyk2"
ANALOG = "O=C(Nc1ccnc(NC(=O)[C@@H]2C[C@H]2C)c1)c1c(Cl)cccc1Cl"  # stereo defined: open centres are refused
FEW_STEPS = SimulationSettings(platform="CPU", pocket_radius_angstrom=6.0, minimize_max_iterations=20,
                               equilibration_steps=10, production_steps=20, report_interval_steps=5)


def _request(smiles: str, compound_id: str = "cpd-1") -> SimulationRequest:
    return SimulationRequest(compound_id, smiles, DATA / "protein.pdb", DATA / "ligands.sdf")


def test_few_steps_gives_ok_record_and_frames(tmp_path):
    record = simulate_ligand(_request(ANALOG), FEW_STEPS, tmp_path)
    assert record.status == "ok", record.message
    assert record.charge_method == "nagl" and record.platform == "CPU"
    assert record.pose_reference in {"jmc_28", "ejm_46"}
    assert math.isfinite(record.mmgbsa_kcal_mol) and record.mmgbsa_kcal_mol < 0
    assert math.isfinite(record.mmgbsa_sem_kcal_mol)
    assert math.isfinite(record.mmgbsa_minimized_kcal_mol) and record.pose_check_status == "passed"
    # the default estimate is the converged-minimum single point; the MD average stays beside it
    assert record.binding_estimate == "minimized" and record.n_replicas == 1
    assert record.mmgbsa_kcal_mol == record.mmgbsa_minimized_kcal_mol
    assert math.isfinite(record.mmgbsa_md_kcal_mol) and record.mmgbsa_md_kcal_mol != record.mmgbsa_kcal_mol
    assert record.n_frames == 4 and record.ns_simulated == pytest.approx(8e-5)
    assert 0 <= record.frac_frames_within_2A <= 1 and record.contacts_mean > 0
    assert record.pose_stable == float(record.rmsd_mean_A <= FEW_STEPS.stable_rmsd_mean_angstrom)
    frames = pd.read_parquet(record.frames_parquet)
    assert list(frames.columns) == FRAME_COLUMNS and len(frames) == 4
    row = record.to_dict()
    assert set(row) == set(SimulationRecord.__dataclass_fields__) and isinstance(row["notes"], str)
    json.dumps(row)
    # same inputs and settings: the finished run directory is reused
    again = simulate_ligand(_request(ANALOG, "cpd-2"), FEW_STEPS, tmp_path)
    assert again.compound_id == "cpd-2" and again.input_hash == record.input_hash
    assert again.mmgbsa_kcal_mol == record.mmgbsa_kcal_mol and "reused cached run" in again.notes


@pytest.mark.parametrize("smiles, reason", [
    ("C1CC(N", "unparsable_smiles"),
    ("OB(O)c1ccc(NC(=O)c2c(Cl)cccc2Cl)cc1", "unsupported_element"),
])
def test_bad_ligands_become_failure_records(tmp_path, smiles, reason):
    record = simulate_ligand(_request(smiles), FEW_STEPS, tmp_path)
    assert record.status == "failed" and record.reason_code == reason
    assert record.message and math.isnan(record.mmgbsa_kcal_mol)


@pytest.mark.slow
def test_default_demo_settings_one_ligand(tmp_path):
    settings = SimulationSettings()
    tic = time.perf_counter()
    record = simulate_ligand(_request(ANALOG), settings, tmp_path)
    wall = time.perf_counter() - tic
    print(f"\ndemo ligand: wall {wall:.1f} s, {record.n_atoms} atoms, "
          f"{record.ns_per_day:.1f} ns/day on {record.platform}, "
          f"MM/GBSA {record.mmgbsa_kcal_mol:.1f} ± {record.mmgbsa_sem_kcal_mol:.1f} kcal/mol, "
          f"RMSD mean {record.rmsd_mean_A:.2f} Å")
    assert record.status == "ok", record.message
    assert record.n_frames == settings.md_replicas * settings.production_steps // settings.report_interval_steps
    assert record.ns_simulated == pytest.approx(0.003)  # 3 ps since the protocol study
    assert record.frac_frames_within_2A >= 0.5
    assert -80 < record.mmgbsa_kcal_mol < -10
    assert wall < 180


def test_replicas_run_from_the_same_start_and_combine(tmp_path):
    settings = FEW_STEPS.model_copy(update={"md_replicas": 2, "binding_estimate": "md_average",
                                            "minimize_until_converged": False})
    record = simulate_ligand(_request(ANALOG), settings, tmp_path)
    assert record.status == "ok", record.message
    assert record.n_replicas == 2 and record.n_frames == 8 and record.ns_simulated == pytest.approx(1.6e-4)
    assert record.mmgbsa_kcal_mol == record.mmgbsa_md_kcal_mol
    assert math.isfinite(record.mmgbsa_replica_sd_kcal_mol) and record.mmgbsa_sem_kcal_mol > 0
