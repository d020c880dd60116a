"""Tests of chem.filters: each rule family, reasons, funnel arithmetic, novelty."""

import pandas as pd
import pytest

from chem.filters import FUNNEL_COLUMNS, RULE_ORDER, apply_filters
from chem.properties import PROPERTY_COLUMNS
from chem.settings import FilterSettings

GOOD = "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1Cl"  # ejm_46, Tyk2 series
RO5 = "CC(C)(C)c1ccc(-c2ccc(C(=O)Nc3ccc(-c4ccc(C(=O)Nc5ccc(C(C)(C)C)cc5)cc4)cc3)cc2)cc1"
PAINS = "S=C1SC(=Cc2ccccc2)C(=O)N1"
BRENK = "O=[N+]([O-])c1ccc(C(=O)NCCc2ccccc2)cc1"
THIOL = "SCCc1ccc(C(=O)NC2CCOCC2)cc1"


def run(smiles, settings=None, **kw):
    df = pd.DataFrame({"compound_id": [f"c{i}" for i in range(len(smiles))], "smiles": smiles})
    return apply_filters(df, settings or FilterSettings(), **kw)


def reasons_of(result, cid):
    return result.rejected.set_index("compound_id").loc[cid, "reasons"]


def test_good_compound_kept_with_properties():
    result = run([GOOD])
    assert len(result.kept) == 1 and result.rejected.empty
    assert set(PROPERTY_COLUMNS) <= set(result.kept.columns)
    assert 0 < result.kept.qed.iloc[0] < 1 and 1 <= result.kept.sa_score.iloc[0] <= 10


def test_ro5_violator_lists_every_rule():
    result = run([RO5])
    row = result.rejected.iloc[0]
    assert row.rejected_by == "mw_da"
    assert row.reasons.split("; ") == [
        "mw 580.8 > 550", "clogp 10.1 > 5.5", "heavy_atoms 44 > 40",
        "lipinski 2 violations > 1 (mw 580.8 > 500, clogp 10.1 > 5)", "qed 0.21 < 0.3"]


def test_pains_and_brenk_hits():
    result = run([PAINS, BRENK])
    assert "PAINS: ene_rhod_A(235)" in reasons_of(result, "c0")
    assert "Brenk: nitro_group" in reasons_of(result, "c1")
    assert result.rejected.set_index("compound_id").rejected_by.to_dict() == \
        {"c0": "alerts_pains", "c1": "alerts_brenk"}
    relaxed = run([PAINS, BRENK], FilterSettings(alert_catalogs=[]))
    assert len(relaxed.kept) == 2


def test_qed_and_sa_thresholds():
    strict = run([GOOD], FilterSettings(qed_min=0.99, sa_score_max=1.0))
    reasons = strict.rejected.reasons.iloc[0]
    assert "qed 0." in reasons and "< 0.99" in reasons and "sa_score" in reasons
    assert strict.rejected.rejected_by.iloc[0] == "qed"


def test_user_smarts():
    settings = FilterSettings(user_alerts_smarts={"thiol": "[SX2H1]"}, alert_catalogs=[])
    result = run([THIOL, GOOD], settings)
    assert reasons_of(result, "c0") == "SMARTS: thiol"
    assert list(result.kept.compound_id) == ["c1"]


def test_novelty_against_known_compounds():
    known = {"ejm_46": GOOD}
    settings = FilterSettings(novelty_max_tanimoto=0.8)
    close = "O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1F"
    result = run([GOOD, close, "CC(=O)Nc1ccc(O)cc1C(=O)N"], settings, known_smiles=known)
    assert "novelty: max Tanimoto 1.00 > 0.8 (nearest known ejm_46)" in reasons_of(result, "c0")
    assert "max_tanimoto_known" in result.kept.columns
    all_rows = pd.concat([result.kept, result.rejected])
    sims = all_rows.set_index("compound_id").max_tanimoto_known
    assert sims["c0"] == 1.0 and sims["c2"] < 0.3
    # Without a limit the similarity is still reported but nothing is rejected for it.
    info = run([GOOD], FilterSettings(), known_smiles=[GOOD])
    assert len(info.kept) == 1 and info.kept.max_tanimoto_known.iloc[0] == 1.0


def test_funnel_counts_first_failing_rule():
    smiles = [GOOD, RO5, PAINS, BRENK, "not a smiles", THIOL]
    result = run(smiles)
    funnel = result.funnel
    assert list(funnel.columns) == FUNNEL_COLUMNS
    assert list(funnel.step) == [s for s in RULE_ORDER if s in set(funnel.step)]
    assert funnel.n_in.iloc[0] == 6 and funnel.n_out.iloc[-1] == len(result.kept)
    assert funnel.n_rejected.sum() == len(result.rejected)
    assert (funnel.n_in - funnel.n_rejected == funnel.n_out).all()
    assert (funnel.n_in.iloc[1:].to_numpy() == funnel.n_out.iloc[:-1].to_numpy()).all()
    assert funnel.set_index("step").loc["parse", "n_rejected"] == 1
    assert "novelty" not in set(funnel.step) and "alerts_nih" not in set(funnel.step)


def test_default_filters_on_tyk2_series_compounds():
    # jmc_27 carries a chlorocyclopropane, which Brenk flags as an alkyl halide.
    result = run([GOOD, "O=C(Nc1ccnc(NC(=O)[C@H]2C[C@H]2Cl)c1)c1c(Cl)cccc1Cl"])
    assert list(result.kept.compound_id) == ["c0"]
    assert reasons_of(result, "c1") == "Brenk: alkyl_halide"


@pytest.mark.parametrize("field", ["hbd", "hba", "rotatable_bonds", "heavy_atoms",
                                   "formal_charge", "tpsa_a2", "clogp"])
def test_each_window_can_reject(field):
    window = {"min": 1000} if field != "formal_charge" else {"min": 1}
    result = run([GOOD], FilterSettings(**{field: window}))
    assert result.rejected.rejected_by.iloc[0] == field
