"""Open stereocentres: each isomer simulated on its own, linked to its candidate; the candidate
takes its best isomer; too many isomers flag the candidate; references are simulated first."""

from __future__ import annotations

import math

import pandas as pd
from rdkit import Chem

from pipeline.config import load_config
from pipeline.run_context import RunContext, write_table
from pipeline.simulation_selection import select_for_simulation, select_measured_references
from simulation.pose import perceived_smiles, pose_from_reference, read_reference_ligands, undefined_stereo
from simulation.stereo import aggregate_stereoisomers, expand_stereoisomers, parent_of

CORE = "O=C(Nc1ccnc(NC(=O){}c1)c1c(Cl)cccc1Cl"
ONE_CENTRE = "O=C(Nc1ccnc(NC(=O)C(C)O)c1)c1c(Cl)cccc1Cl"          # lactamide: 2 isomers
TWO_CENTRES = "O=C(Nc1ccnc(NC(=O)C2CC2C)c1)c1c(Cl)cccc1Cl"        # 2-methylcyclopropyl: 4 isomers
DEFINED = "O=C(Nc1ccnc(NC(=O)[C@@H](C)O)c1)c1c(Cl)cccc1Cl"


def test_open_centres_become_defined_isomers_linked_to_the_candidate():
    items = expand_stereoisomers("MT-A", ONE_CENTRE)
    assert [i["compound_id"] for i in items] == ["MT-A~s1", "MT-A~s2"]
    assert {i["parent_compound_id"] for i in items} == {"MT-A"} and items[0]["n_stereoisomers"] == 2
    smiles = [i["smiles"] for i in items]
    assert len(set(smiles)) == 2 and not any(undefined_stereo(Chem.MolFromSmiles(s)) for s in smiles)
    # Same flat molecule once the stereo is dropped: they are the candidate's isomers, nothing else.
    flat = {Chem.MolToSmiles(Chem.MolFromSmiles(s), isomericSmiles=False) for s in smiles}
    assert flat == {Chem.MolToSmiles(Chem.MolFromSmiles(ONE_CENTRE))}
    assert parent_of("MT-A~s2") == "MT-A" and parent_of("MT-A") == "MT-A"
    assert len(expand_stereoisomers("MT-B", TWO_CENTRES, max_isomers=4)) == 4
    assert expand_stereoisomers("MT-C", DEFINED) == [{"compound_id": "MT-C", "smiles": DEFINED}]


def test_too_many_isomers_leave_the_candidate_as_given_to_be_refused():
    from moltwin.errors import SimulationError
    from simulation.pose import require_defined_stereo

    items = expand_stereoisomers("MT-B", TWO_CENTRES, max_isomers=2)
    assert items == [{"compound_id": "MT-B", "smiles": TWO_CENTRES}]
    try:
        require_defined_stereo(TWO_CENTRES)
    except SimulationError as exc:
        assert exc.reason_code == "undefined_stereo"
    else:
        raise AssertionError("an open stereocentre must be refused")


def test_each_isomer_poses_as_itself(tmp_path):
    """The 3D ligand simulated for an isomer is that isomer, not an arbitrary one."""
    from pathlib import Path

    refs = read_reference_ligands(Path(__file__).resolve().parents[2] / "data" / "tyk2" / "ligands.sdf")
    for item in expand_stereoisomers("MT-A", ONE_CENTRE):
        posed = pose_from_reference(item["smiles"], refs, n_attempts=2)
        assert perceived_smiles(posed) == Chem.MolToSmiles(Chem.MolFromSmiles(item["smiles"]))


def _record(cid, dg, sem=0.5, status="ok", pose="passed", parent="MT-A", smiles="x"):
    return {"compound_id": cid, "status": status, "reason_code": "" if status == "ok" else "md_failed",
            "message": "", "mmgbsa_kcal_mol": dg, "mmgbsa_sem_kcal_mol": sem, "pose_check_status": pose,
            "parent_compound_id": parent, "stereoisomer_smiles": smiles, "n_stereoisomers": 3}


def test_candidate_takes_its_best_trusted_isomer_and_lists_them_all():
    plain = {"compound_id": "MT-Z", "status": "ok", "mmgbsa_kcal_mol": -30.0}
    records = [plain, _record("MT-A~s1", -40.0, smiles="C[C@H]"), _record("MT-A~s2", -45.0, pose="unchecked"),
               _record("MT-A~s3", -35.0, status="failed")]
    out = {r["compound_id"]: r for r in aggregate_stereoisomers(records)}
    assert set(out) == {"MT-Z", "MT-A"} and out["MT-Z"] is plain
    best = out["MT-A"]
    # -45 comes from a pose whose checks could not run: never evidence; -40 is taken.
    assert best["mmgbsa_kcal_mol"] == -40.0 and best["isomer_compound_id"] == "MT-A~s1"
    assert best["stereoisomer_smiles"] == "C[C@H]" and best["n_stereoisomers"] == 3
    assert "parent_compound_id" not in best
    for part in ("MT-A~s1", "-40.0 ± 0.5", "MT-A~s2", "pose unchecked", "MT-A~s3 x failed"):
        assert part in best["stereo_note"]


def test_candidate_without_a_usable_isomer_fails_with_the_reasons():
    out = aggregate_stereoisomers([_record("MT-A~s1", math.nan, status="failed"),
                                   _record("MT-A~s2", -41.0, pose="failed")])
    assert len(out) == 1 and out[0]["compound_id"] == "MT-A" and out[0]["status"] == "failed"
    assert out[0]["reason_code"] == "no_usable_stereoisomer" and math.isnan(out[0]["mmgbsa_kcal_mol"])


def _context(tmp_path, overrides):
    cfg = load_config(None, [f"results_dir={tmp_path}", *overrides])
    ctx = RunContext("run-1", str(tmp_path / "run-1"), f"sqlite:///{tmp_path / 't.db'}", cfg.model_dump_json())
    ctx.path.mkdir(parents=True)
    return ctx


def test_references_first_then_candidates_with_their_isomers(tmp_path):
    measured = pd.DataFrame({"compound_id": [f"M{i}" for i in range(10)],
                             "smiles": [CORE.format("C" * (i + 1)) for i in range(10)],
                             "p_activity": [5.0 + 0.3 * i for i in range(10)],
                             "p_qualifier": ["="] * 9 + [">"]})
    ctx = _context(tmp_path, ["screen.simulate_top_n=2", "screen.simulate_measured_n=4"])
    cands = {"C1": DEFINED, "C2": ONE_CENTRE, "C3": TWO_CENTRES.replace("C2CC2C", "C2CC2C(C)O")}
    write_table(measured, ctx, "measured")
    write_table(pd.DataFrame({"compound_id": list(cands), "smiles": list(cands.values())}), ctx, "filter_kept")
    write_table(pd.DataFrame({"compound_id": list(cands), "smiles": list(cands.values()),
                              "pred_p_activity": [6.0, 7.0, 9.0], "in_domain": [True] * 3}), ctx,
                "predictions")
    items = select_for_simulation(ctx)
    ids = [i["compound_id"] for i in items]
    # Four exact measurements spread over the range (the censored M9 is no reference), then the
    # candidates: C3 (8 isomers > 4) gives way to C2 (two isomers) and C1.
    assert ids == ["M0", "M3", "M5", "M8", "C2~s1", "C2~s2", "C1"]
    assert all(i["role"] == "measured_reference" for i in items[:4])
    assert select_measured_references(measured, 0) == []
    none = _context(tmp_path / "b", ["screen.simulate_top_n=0", "screen.simulate_measured_n=4"])
    write_table(measured, none, "measured")
    assert select_for_simulation(none) == []  # no candidate simulated: no references either


def test_twin_update_finds_the_isomer_runs_by_their_own_hashes(tmp_path):
    from pipeline.simulation_choice import choose_simulations, expected_hashes

    cfg = load_config(None, [f"results_dir={tmp_path}"])
    compounds = pd.DataFrame({"compound_id": ["MT-A", "MT-C"], "canonical_smiles": [ONE_CENTRE, DEFINED]})
    hashes = expected_hashes(cfg, compounds)
    assert set(hashes) == {"MT-A~s1", "MT-A~s2", "MT-C"} and len(set(hashes.values())) == 3
    sims = pd.DataFrame({"compound_id": ["MT-A~s1", "MT-A~s2"], "run_id": ["r1", "r1"], "status": ["ok", "ok"],
                         "input_hash": [hashes["MT-A~s1"], hashes["MT-A~s2"]], "created_at": [1, 2],
                         "id": [1, 2], "record_json": ['{"compound_id": "MT-A~s1"}', '{"compound_id": "MT-A~s2"}']})
    runs = pd.DataFrame({"run_id": ["r1"], "status": ["completed"]})
    assert [r["compound_id"] for r in choose_simulations(sims, runs, hashes)] == ["MT-A~s1", "MT-A~s2"]
