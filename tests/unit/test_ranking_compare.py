"""compare_rankings: what changed between two runs' ranked tables (real Tyk2 rankings)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import build_tables, tyk2_records  # noqa: E402

from moltwin.errors import BadInputError  # noqa: E402
from ranking.compare import CHANGE_COLUMNS, compare_rankings  # noqa: E402
from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import RankSettings  # noqa: E402

SETTINGS = RankSettings(n_samples=300)


def _table(ids, decisions=None):
    return pd.DataFrame({"compound_id": ids, "rank": range(1, len(ids) + 1),
                         "decision": decisions or ["hold"] * len(ids)})


def test_first_run_and_identical_runs_have_no_changes():
    cur = _table(list("abcdef"))
    assert list(compare_rankings(None, cur).columns) == CHANGE_COLUMNS
    assert compare_rankings(None, cur).empty
    assert compare_rankings(cur, cur.copy(), top_n=3).empty


def test_new_entries_departures_moves_and_decisions():
    prev = _table(["a", "b", "c", "d", "e", "f", "g"], ["advance", "hold", "hold", "hold",
                                                        "hold", "hold", "hold"])
    cur = _table(["g", "a", "new", "c", "b", "d", "e", "f"],
                 ["hold", "hold", "advance", "hold", "hold", "hold", "hold", "hold"])
    changes = compare_rankings(prev, cur, top_n=3, min_move=3)
    got = {(r.compound_id, r.change) for r in changes.itertuples()}
    assert got == {("a", "decision"), ("g", "new_in_top"), ("new", "new_in_top"),
                   ("b", "left_top"), ("c", "left_top")}
    assert list(changes["change"]) == ["decision", "new_in_top", "new_in_top", "left_top",
                                       "left_top"]
    assert list(changes["compound_id"])[1:] == ["g", "new", "b", "c"]
    row = changes.set_index(["compound_id", "change"])
    assert row.loc[("a", "decision"), "detail"] == "advance → hold (rank 1 → 2)"
    assert row.loc[("g", "new_in_top"), "rank_change"] == 6
    assert row.loc[("new", "new_in_top"), "detail"] == "new in top 3 at rank 3 (new compound)"
    assert pd.isna(row.loc[("new", "new_in_top"), "previous_rank"])
    assert row.loc[("b", "left_top"), "detail"] == "left top 3 (was 2, now rank 5)"
    moves = compare_rankings(prev, cur, top_n=10, min_move=3)
    moved = moves[moves["change"] == "moved"].set_index("compound_id")["detail"].to_dict()
    assert moved == {"g": "up 6: 7 → 1", "b": "down 3: 2 → 5"}  # c moved only 1


def test_a_new_measurement_shows_up_as_a_change():
    tables = build_tables(tyk2_records())
    before = rank_candidates(merge_candidate_table(**tables), SETTINGS)
    # An unmeasured compound is measured at 8.8 in the next run.
    unmeasured = before[before["activity_source"] == "predicted"]["compound_id"].iloc[-1]
    meas = pd.concat([tables["measurements"], pd.DataFrame([{
        "compound_id": unmeasured, "measured_p_activity": 8.8, "measured_sd": 0.2,
        "measured_n": 2, "measured_qualifier": "="}])], ignore_index=True)
    after = rank_candidates(merge_candidate_table(**{**tables, "measurements": meas}), SETTINGS)
    changes = compare_rankings(before, after, top_n=5)
    mine = changes[changes["compound_id"] == unmeasured]
    assert "new_in_top" in set(mine["change"])
    assert mine["current_rank"].iloc[0] < mine["previous_rank"].iloc[0]


def test_missing_columns_are_bad_input():
    with pytest.raises(BadInputError, match="rank"):
        compare_rankings(pd.DataFrame({"compound_id": ["a"]}), _table(["a"]))


def test_decision_changes_name_the_evidence_that_changed():
    import json

    previous = pd.DataFrame({"compound_id": ["a", "b"], "rank": [1, 2], "decision": ["hold", "hold"],
                             "details_json": [json.dumps({"activity_evidence": "predicted 7.00 ± 0.50 → 7.00 ± 0.50"}),
                                              json.dumps({"activity_evidence": "predicted 6.00 ± 0.50 → 6.00 ± 0.50"})]})
    current = pd.DataFrame({"compound_id": ["a", "b"], "rank": [1, 2],
                            "decision": ["advance", "deprioritize"],
                            "activity_evidence": ["measured 7.80 ± 0.21, n 1 → 7.80 ± 0.21",
                                                  "predicted 6.00 ± 0.50 → 6.00 ± 0.50"]})
    changes = compare_rankings(previous, current).set_index("compound_id")
    assert changes.loc["a", "detail"].endswith(
        "evidence was predicted 7.00 ± 0.50 → 7.00 ± 0.50, now measured 7.80 ± 0.21, n 1 → 7.80 ± 0.21")
    assert "its own evidence is unchanged" in changes.loc["b", "detail"]
