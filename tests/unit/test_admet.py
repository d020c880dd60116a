"""ADMET risks from admet-ai on real molecules: same numbers as admet-ai, 0..1 risks ranking can read."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chem import admet_engine
from chem.admet import (AdmetUnavailableError, admet_failures, admet_table, drugbank_percentile,
                        endpoint_risk, predict_admet)
from chem.admet_settings import ENDPOINT_BY_KEY, ENDPOINTS, AdmetSettings
from chem.models.example_series import load_tyk2_ligands
from ranking.derive import add_derived_columns, admet_columns

DATA = Path(__file__).resolve().parents[2] / "data"
# Known drugs with textbook liabilities: dofetilide is a potent hERG blocker, caffeine is not;
# sucrose does not cross a PAMPA membrane, caffeine does.
DRUGS = {"dofetilide": "CN(CCOc1ccc(NS(C)(=O)=O)cc1)CCc1ccc(NS(C)(=O)=O)cc1",
         "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
         "sucrose": "OC[C@H]1O[C@@](CO)(O[C@H]2O[C@H](CO)[C@@H](O)[C@H](O)[C@H]2O)[C@@H](O)[C@@H]1O"}
BAD = {"bad_ring": "C1CC(N", "empty": ""}


@pytest.fixture(scope="module")
def molecules() -> pd.DataFrame:
    ligands = load_tyk2_ligands(DATA / "tyk2/ligands.sdf")[["compound_id", "smiles"]]
    extra = pd.DataFrame({"compound_id": [*DRUGS, *BAD], "smiles": [*DRUGS.values(), *BAD.values()]})
    return pd.concat([ligands, extra], ignore_index=True)


@pytest.fixture(scope="module")
def table(molecules) -> pd.DataFrame:
    return predict_admet(molecules, AdmetSettings(batch_size=8))


def test_rows_follow_the_input_and_bad_structures_are_rows(molecules, table):
    assert list(table["compound_id"]) == list(molecules["compound_id"])
    errors = table.set_index("compound_id")["admetai_error"]
    assert "unparsable SMILES" in errors["bad_ring"] and "empty" in errors["empty"]
    assert (errors.drop(list(BAD)) == "").all()
    bad = table[table["compound_id"].isin(BAD)]
    assert bad.filter(regex="_pred$|_pct$|^admet_").isna().all().all()  # no number made up
    good = table[~table["compound_id"].isin(BAD)]
    assert np.isfinite(good.filter(regex="_pred$|_pct$|^admet_").to_numpy(dtype=float)).all()
    records = admet_failures(table)
    assert {r.compound_id for r in records} == set(BAD)
    assert {r.reason_code for r in records} == {"unparsable_smiles"} and records[0].stage == "admet"


# admet-ai 2.0.1's own ADMETModel.predict for caffeine and dofetilide: (raw, DrugBank percentile).
RECORDED = {"herg": ((0.0475, 0.9193), (23.62, 88.576)),
            "solubility": ((-0.9061, -2.8383), (84.675, 55.571)),
            "half_life": ((5.194, 15.1778), (31.459, 49.35))}


def test_numbers_match_recorded_admet_ai_output(table):
    rows = table.set_index("compound_id").loc[["caffeine", "dofetilide"]]
    for key, (raw, pct) in RECORDED.items():
        np.testing.assert_allclose(rows[f"{key}_pred"], raw, atol=2e-4)
        np.testing.assert_allclose(rows[f"{key}_drugbank_pct"], pct, atol=2e-3)


@pytest.mark.slow
def test_numbers_equal_admet_ai_own_predict(molecules, table):
    from admet_ai import ADMETModel

    smiles = molecules["smiles"].iloc[:5].tolist()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        reference = ADMETModel(include_physchem=False, num_workers=0).predict(smiles)
    for e in ENDPOINTS:
        np.testing.assert_allclose(table[f"{e.key}_pred"].iloc[:5], reference[e.task], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(table[f"{e.key}_drugbank_pct"].iloc[:5],
                                   reference[f"{e.task}_drugbank_approved_percentile"], atol=1e-6)


def test_risks_point_the_bad_way_on_known_drugs(table):
    drugs = table.set_index("compound_id").loc[list(DRUGS)]
    assert drugs.loc["dofetilide", "admet_herg"] > 0.7 > 0.2 > drugs.loc["caffeine", "admet_herg"]
    assert drugs.loc["sucrose", "admet_pampa"] > 0.9 > 0.2 > drugs.loc["caffeine", "admet_pampa"]
    assert drugs.loc["sucrose", "admet_caco2"] > drugs.loc["caffeine", "admet_caco2"]
    risks = table.filter(regex="^admet_").to_numpy(dtype=float)
    assert np.nanmin(risks) >= 0.0 and np.nanmax(risks) <= 1.0


def test_ranking_reads_exactly_the_risk_columns(table):
    settings = AdmetSettings()
    assert admet_columns(table) == [f"admet_{e.key}" for e in settings.risk_endpoints()]
    assert "admet_bbb" not in table.columns and "bbb_pred" in table.columns  # BBB direction unset
    derived = add_derived_columns(table).set_index("compound_id")
    expected = table.set_index("compound_id")[admet_columns(table)].max(axis=1)
    pd.testing.assert_series_equal(derived["admet_max_risk"], expected, check_names=False)
    assert derived.loc[list(BAD), "admet_max_risk"].isna().all()  # unknown, not safe


def test_bbb_direction_follows_the_setting(table, molecules):
    first = molecules.head(3)
    avoid = predict_admet(first, AdmetSettings(endpoints=["bbb"], bbb_penetration="avoid"))
    wanted = predict_admet(first, AdmetSettings(endpoints=["bbb"], bbb_penetration="wanted"))
    np.testing.assert_allclose(avoid["admet_bbb"], table["bbb_pred"].head(3), rtol=1e-5)
    np.testing.assert_allclose(wanted["admet_bbb"], 1 - table["bbb_pred"].head(3), rtol=1e-5)
    assert admet_columns(avoid) == ["admet_bbb"]
    quiet = predict_admet(first, AdmetSettings(endpoints=["herg", "dili"], exclude_from_risk=["dili"]))
    assert admet_columns(quiet) == ["admet_herg"] and quiet["dili_pred"].notna().all()


def test_screen_table_and_note(molecules, tmp_path):
    result, note = admet_table(molecules.tail(5))  # the three drugs and the two bad rows
    assert note.startswith("ADMET predicted with admet-ai") and "for 3 of 5 compounds" in note
    assert "DrugBank-approved drugs score admet_max_risk" in note
    result.to_parquet(tmp_path / "admet.parquet")  # the stage writes it as a Parquet table
    back = pd.read_parquet(tmp_path / "admet.parquet")
    assert list(back.columns) == list(result.columns)
    off, note = admet_table(molecules, AdmetSettings(enabled=False))
    assert len(off) == len(molecules)
    assert list(off.columns) == ["compound_id"] and note.startswith("ADMET not predicted: switched off")


def test_missing_models_and_import_failure_give_a_reason_not_numbers(molecules, tmp_path, monkeypatch):
    settings = AdmetSettings(models_dir=tmp_path)
    with pytest.raises(AdmetUnavailableError, match="no admet-ai model files"):
        predict_admet(molecules, settings)
    ids, note = admet_table(molecules, settings)
    assert list(ids.columns) == ["compound_id"] and len(ids) == len(molecules)
    assert note.startswith("ADMET not predicted: no admet-ai model files") and str(tmp_path) in note
    monkeypatch.setitem(sys.modules, "admet_ai", None)  # as if admet-ai were not installed
    _, note = admet_table(molecules, AdmetSettings(models_dir=tmp_path / "other"))
    assert note.startswith("ADMET not predicted: admet-ai cannot be imported")


def test_a_molecule_that_breaks_its_batch_fails_alone(molecules, table, monkeypatch):
    real = admet_engine._predict_batch

    def fragile(engine, mols, ensembles):  # stands in for a Chemprop featurizer crash on one structure
        if any(a.GetSymbol() == "Se" for m in mols for a in m.GetAtoms()):
            raise RuntimeError("featurizer cannot handle Se")
        return real(engine, mols, ensembles)

    monkeypatch.setattr(admet_engine, "_predict_batch", fragile)
    batch = pd.concat([molecules.head(5), pd.DataFrame({"compound_id": ["selenium"],
                                                        "smiles": ["c1cc[se]c1CC(=O)N"]})])
    out = predict_admet(batch, AdmetSettings(batch_size=4, endpoints=["herg"]))
    assert "featurizer cannot handle Se" in out["admetai_error"].iloc[-1]
    assert (out["admetai_error"].iloc[:-1] == "").all()
    np.testing.assert_allclose(out["herg_pred"].iloc[:5], table["herg_pred"].iloc[:5], rtol=1e-6)
    assert admet_failures(out)[0].reason_code == "admet_failed"


def test_empty_input_needs_no_model():
    out = predict_admet([], AdmetSettings(models_dir=Path("/nonexistent")))
    assert len(out) == 0 and "admet_herg" in out.columns


def test_risk_arithmetic_and_percentiles():
    reference = np.array([1.0, 2.0, 2.0, 3.0])
    # scipy's kind="rank" (admet-ai's convention): a tied value scores (1 + 3 + 1) * 50 / 4.
    np.testing.assert_allclose(drugbank_percentile(reference, np.array([0.0, 2.0, 5.0, np.nan])),
                               [0.0, 62.5, 100.0, np.nan])
    solubility = ENDPOINT_BY_KEY["solubility"]
    np.testing.assert_allclose(endpoint_risk(solubility, "low", np.array([-6.0]), np.array([10.0])), [0.9])
    herg = ENDPOINT_BY_KEY["herg"]
    np.testing.assert_allclose(endpoint_risk(herg, "high", np.array([0.8]), np.array([99.0])), [0.8])
    pampa = ENDPOINT_BY_KEY["pampa"]
    np.testing.assert_allclose(endpoint_risk(pampa, "low", np.array([0.8]), np.array([50.0])), [0.2])


def test_settings_reject_unknown_endpoints_and_fields():
    with pytest.raises(ValueError):
        AdmetSettings(endpoints=["herg", "liver"])
    with pytest.raises(ValueError):
        AdmetSettings(batchsize=10)
    assert AdmetSettings(endpoints=["herg", "herg"]).endpoints == ["herg"]


def test_cli_writes_the_table(tmp_path):
    from typer.testing import CliRunner

    from interfaces.cli import app

    smi = tmp_path / "in.smi"
    smi.write_text(f"{DRUGS['caffeine']} caffeine\n{DRUGS['dofetilide']} dofetilide\n")
    result = CliRunner().invoke(app, ["models", "admet", "--in", str(smi), "--out", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(tmp_path / "a.csv")
    assert list(written["compound_id"]) == ["caffeine", "dofetilide"]
    assert written["admet_herg"].iloc[1] > 0.7 and "admet_herg" in result.output


def test_screen_table_without_usable_structures_does_not_load_anything():
    bad = pd.DataFrame({"compound_id": list(BAD), "smiles": list(BAD.values())})
    table, note = admet_table(bad, AdmetSettings(models_dir=Path("/nonexistent")))
    assert "for 0 of 2 compounds" in note and table["admet_herg"].isna().all()


def test_yardstick_measures_what_the_table_gates_on(molecules):
    from chem.admet import approved_drug_max_risk

    gates = ("herg", "ames", "clintox")
    everything, gated = approved_drug_max_risk(), approved_drug_max_risk(None, gates)
    assert len(gated) == len(everything) and (gated <= everything + 1e-12).all()
    assert np.median(gated) < np.median(everything)  # a max over 3 endpoints, not over all
    _, note = admet_table(molecules.tail(5), gate_endpoints=gates)
    assert "admet_max_risk (max over herg, ames, clintox, as in the table)" in note
    low, mid, high = np.percentile(gated, [10, 50, 90])
    assert f"{mid:.2f} at the median ({low:.2f}-{high:.2f}" in note
