"""Property-based checks of the decision model: coherence and monotonicity on random tables.

For random candidate tables (measured or not, censored or exact, with or without
predictions, intervals, properties, MD and ADMET), the ranked table must satisfy:

* every advance ranks above every hold, every hold above every deprioritize;
* monotone decisions: a compound at least as likely as another to clear every stage, with
  the same kind of evidence (measured / not measured), never gets a worse decision;
* the make capacity: compounds not measured yet advance ("make next") only within it --
  at most ``make_capacity`` of them unless tied at the cut -- and a measured compound
  advances exactly when its p(clear) reaches ``advance_at_p``;
* p(clear) is a probability for every compound and stage, never increasing along the
  (cumulative) stages, and every compound with any potency evidence or prior has one;
* the stage says what is known: never-measured compounds are "designed";
* the "why" text quotes the same p(clear) as the table, and the next batch proposes only
  unmeasured compounds with a real (positive, finite) σ.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import tyk2_records  # noqa: E402

from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.next_batch import propose_next_batch  # noqa: E402
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import NextBatchSettings, RankSettings  # noqa: E402

SMILES = [smi for _, smi, _ in tyk2_records()]
SETTINGS = RankSettings(next_batch=NextBatchSettings(size=4, max_tanimoto_to_picked=1.0))
# A low advance threshold so that the make capacity binds often on random tables.
TIGHT = RankSettings(advance_at_p=0.05, deprioritize_below_p=0.01, make_capacity=2,
                     next_batch=NextBatchSettings(size=4, max_tanimoto_to_picked=1.0))
TIER = {"advance": 0, "hold": 1, "deprioritize": 2}
maybe = st.one_of(st.none(), st.floats(0.0, 1.0))


@st.composite
def compound(draw, i: int) -> dict:
    row = {"compound_id": f"C{i:03d}", "smiles": SMILES[i % len(SMILES)], "inchikey": "",
           "origin": "random"}
    if draw(st.booleans()):
        row.update(measured_p_activity=draw(st.floats(4.0, 10.0)),
                   measured_qualifier=draw(st.sampled_from(["=", "=", "=", "<", ">"])),
                   measured_n=draw(st.sampled_from([1, 2, 3, np.nan])),
                   measured_sd=draw(st.one_of(st.just(np.nan), st.floats(0.0, 1.0))))
    if draw(st.booleans()):
        mean, sd = draw(st.floats(4.0, 10.0)), draw(st.floats(0.0, 3.0))
        row.update(pred_p_activity=mean, pred_std=sd)
        if draw(st.booleans()):
            row.update(lower_80=mean - 1.28 * sd, upper_80=mean + 1.28 * sd,
                       lower_90=mean - 1.64 * sd, upper_90=mean + 1.64 * sd)
    if draw(st.booleans()):
        row.update(qed=draw(st.floats(0.0, 1.0)), sa_score=draw(st.floats(1.0, 8.0)),
                   clogp=draw(st.floats(-2.0, 8.0)), mw_da=draw(st.floats(150.0, 700.0)),
                   tpsa_a2=draw(st.floats(10.0, 200.0)),
                   alerts=draw(st.sampled_from(["", "", "PAINS: x", "a; b"])))
    frac = draw(maybe)
    if frac is not None:
        row.update(sim_status="ok", frac_frames_within_2A=frac,
                   mmgbsa_kcal_mol=draw(st.floats(-70.0, -10.0)), mmgbsa_sem_kcal_mol=1.0)
    risk = draw(maybe)
    if risk is not None:
        row.update(admet_herg=risk)
    return row


@st.composite
def tables(draw) -> pd.DataFrame:
    n = draw(st.integers(2, 18))
    rows = [draw(compound(i)) for i in range(n)]
    table = pd.DataFrame(rows)
    candidates = table[["compound_id", "smiles", "inchikey", "origin"]]
    rest = table.drop(columns=["smiles", "inchikey", "origin"])
    return merge_candidate_table(candidates, rest)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([SETTINGS, TIGHT]))
def test_decisions_are_coherent_and_monotone(table, rank_settings):
    ranked = rank_candidates(table, rank_settings)
    SETTINGS = rank_settings  # noqa: N806 (the settings under test)
    stages = [f"p_{s.name}" for s in SETTINGS.stages]
    p = ranked[stages].to_numpy(dtype=float)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert (np.diff(p, axis=1) <= 1e-12).all()  # cumulative gates: never easier later
    np.testing.assert_array_equal(ranked["p_clear_gates"], ranked[f"p_{SETTINGS.target_stage}"])

    tiers = ranked["decision"].map(TIER).to_numpy()
    assert (np.diff(tiers) >= 0).all(), "rank order and decisions disagree"
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    # Monotone: at least as likely to clear every stage, same kind of evidence -> at least
    # as good a decision.
    made = (ranked["activity_source"] == "measured").to_numpy()
    at_least = (p[:, None, :] >= p[None, :, :]).all(axis=2)  # [j, i]: j ≥ i everywhere
    same_kind = made[:, None] == made[None, :]
    worse = tiers[:, None] > tiers[None, :]  # [j, i]: j's decision worse than i's
    assert not (at_least & same_kind & worse).any(), "a dominating compound got a worse decision"
    # Measured compounds advance on their own evidence; designed ones within the capacity.
    advance = (ranked["decision"] == "advance").to_numpy()
    p_target = ranked["p_clear_gates"].to_numpy(dtype=float)
    np.testing.assert_array_equal(advance[made], p_target[made] >= SETTINGS.advance_at_p)
    designed_adv = p_target[~made & advance]
    assert (designed_adv >= SETTINGS.advance_at_p).all()
    if len(designed_adv) > SETTINGS.capacity():  # only ties at the cut may exceed it
        assert (designed_adv == designed_adv.min()).sum() > 1
        assert (designed_adv > designed_adv.min()).sum() < SETTINGS.capacity()
    held_over = ~made & ~advance & (p_target >= SETTINGS.advance_at_p)
    assert ranked.loc[held_over, "decision_reason"].str.contains("beyond the make capacity").all()
    if held_over.any():
        assert (~made & advance).sum() >= SETTINGS.capacity()

    never_measured = ranked["measured_p_activity"].isna() if "measured_p_activity" in ranked \
        else pd.Series(True, index=ranked.index)
    assert (ranked.loc[never_measured, "stage"] == "designed").all()
    assert (ranked["activity_sd"] > 0).all() and ranked["activity_p"].notna().all()
    for _, row in ranked.iterrows():
        assert f"= {row['p_clear_gates']:.2f}" in row["decision_reason"]

    batch = propose_next_batch(ranked, None, SETTINGS)
    assert not set(batch["compound_id"]) & set(ranked.loc[~never_measured, "compound_id"])
    sd = pd.to_numeric(batch["activity_sd"]).to_numpy(dtype=float)  # an empty batch is object-typed
    assert (np.isfinite(sd) & (sd > 0)).all()
