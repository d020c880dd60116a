"""merge_candidate_table on real Tyk2 stage tables."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import build_tables, tyk2_records  # noqa: E402

from moltwin.errors import BadInputError  # noqa: E402
from ranking.merge import merge_candidate_table  # noqa: E402


@pytest.fixture(scope="module")
def tables():
    return build_tables(tyk2_records())


def test_one_row_per_candidate_in_order_with_all_stage_columns(tables):
    merged = merge_candidate_table(**tables)
    assert list(merged["compound_id"]) == list(tables["candidates"]["compound_id"])
    for column in ("qed", "alerts", "pred_p_activity", "measured_p_activity", "sim_status",
                   "activity_p", "activity_sd", "activity_source", "activity_qualifier"):
        assert column in merged.columns


def test_measurement_overrides_prediction_but_both_stay(tables):
    merged = merge_candidate_table(**tables).set_index("compound_id")
    measured = merged[merged["measured_p_activity"].notna()]
    predicted = merged[merged["measured_p_activity"].isna()]
    assert len(measured) == 8 and len(predicted) == 8
    assert (measured["activity_source"] == "measured").all()
    np.testing.assert_allclose(measured["activity_p"], measured["measured_p_activity"])
    np.testing.assert_allclose(measured["activity_sd"], measured["measured_sd"])
    assert measured["pred_p_activity"].notna().all()  # the prediction is still there
    assert (predicted["activity_source"] == "predicted").all()
    np.testing.assert_allclose(predicted["activity_p"], predicted["pred_p_activity"])
    np.testing.assert_allclose(predicted["activity_sd"], predicted["pred_std"])


def test_missing_stages_and_missing_sd_are_handled(tables):
    measurements = tables["measurements"].assign(measured_sd=np.nan, measured_qualifier=None)
    merged = merge_candidate_table(tables["candidates"], None, None, measurements, None,
                                   default_measured_sd=0.4)
    assert "qed" not in merged.columns and "sim_status" not in merged.columns
    has = merged["measured_p_activity"].notna()
    assert (merged.loc[has, "activity_sd"] == 0.4).all()
    assert (merged.loc[has, "activity_qualifier"] == "=").all()
    assert merged.loc[~has, "activity_p"].isna().all()
    assert merged.loc[~has, "activity_source"].isna().all()


def test_qualifiers_are_normalized_and_unknown_ones_rejected(tables):
    meas = tables["measurements"].copy()
    meas["measured_qualifier"] = [">=", "<", "~", None, "", "=", "<=", ">"]
    merged = merge_candidate_table(tables["candidates"], measurements=meas)
    got = merged.dropna(subset=["measured_p_activity"])["activity_qualifier"].tolist()
    assert got == [">", "<", "=", "=", "=", "=", "<", ">"]
    meas.loc[0, "measured_qualifier"] = "approx"
    with pytest.raises(BadInputError, match="qualifier"):
        merge_candidate_table(tables["candidates"], measurements=meas)


def test_earlier_columns_win_and_duplicates_raise(tables):
    props = tables["filtered_props"].assign(smiles="C")  # a clashing column is ignored
    merged = merge_candidate_table(tables["candidates"], props)
    assert (merged["smiles"] != "C").all()
    doubled = pd.concat([tables["measurements"], tables["measurements"].head(1)])
    with pytest.raises(BadInputError, match="several rows"):
        merge_candidate_table(tables["candidates"], measurements=doubled)
    with pytest.raises(BadInputError, match="compound_id"):
        merge_candidate_table(tables["candidates"], predictions=tables["predictions"].drop(
            columns="compound_id"))
