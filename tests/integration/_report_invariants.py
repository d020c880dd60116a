"""Invariants every rendered report must satisfy, checked on a real run folder.

One decision model, one set of numbers (issue 17): the HTML table, its "why" text, the CSV
and the Parquet file show identical values; decisions agree with the rank order; designed
compounds advance only within the make capacity; p(clear) is not 0 for every unmeasured
compound; no never-made compound is a "hit" (or any gate stage); the next batch holds only
unmeasured compounds with σ within the bound.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ranking.next_batch import sd_bound
from ranking.settings import RankSettings

TIERS = {"advance": 0, "hold": 1, "deprioritize": 2}
ROW = re.compile(r'<tr class="decision-row"[^>]*>\s*<td class="num"[^>]*>(\d+)</td>.*?'
                 r'<span class="badge (\w+)">.*?<td class="num"[^>]*>([0-9.]+)', re.S)
SHARED = ("compound_id", "rank", "decision", "stage", "p_clear_gates", "activity_p", "activity_sd",
          "decision_reason", "activity_evidence")


def check_run_report(run_dir: Path, settings: RankSettings, top_n: int = 50) -> dict:
    """Assert every invariant on ``run_dir``; returns a few counts for the test's log."""
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    csv = pd.read_csv(run_dir / "ranked_candidates.csv")
    ranked = pd.read_parquet(run_dir / "ranked_candidates.parquet")
    n = len(ranked)
    assert n > 0 and len(csv) == n

    # Identical values in CSV and Parquet (floats to 12 digits: CSV text round-trip).
    for column in SHARED:
        a, b = csv[column], ranked[column]
        if pd.api.types.is_float_dtype(b):
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=0, atol=1e-12)
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column

    # The HTML table shows the same rank, decision and p(clear) per row, in rank order (its
    # first ``top_n`` rows; the CSV and Parquet hold every compound).
    rows = ROW.findall(html)
    assert len(rows) == min(n, top_n), f"{len(rows)} table rows for {n} compounds"
    for (rank, decision, p_clear), row in zip(rows, ranked.to_dict("records")):
        assert int(rank) == row["rank"] and decision == row["decision"]
        assert p_clear == f"{row['p_clear_gates']:.2f}"
        assert f"= {p_clear}" in row["decision_reason"], row["decision_reason"]
        assert row["compound_id"] in html

    # Rank order and decisions agree: no advance below a hold, no hold below a deprioritize.
    assert list(ranked["rank"]) == list(range(1, n + 1))
    tiers = ranked["decision"].map(TIERS)
    assert tiers.notna().all() and tiers.is_monotonic_increasing, "decision order ≠ rank order"

    # Stages say what is known: a compound never measured is "designed", never a "hit".
    made = ranked["activity_source"] == "measured"
    never = ranked["measured_p_activity"].isna() if "measured_p_activity" in ranked \
        else pd.Series(True, index=ranked.index)
    assert (ranked.loc[never, "stage"] == "designed").all()
    assert not (~made & ranked["stage"].isin([s.name for s in settings.stages])).any()

    # p(clear) is a real probability for unmeasured compounds, not 0 for all of them.
    p = ranked["p_clear_gates"].to_numpy(float)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    if (~made).any():
        assert (p[~made.to_numpy()] > 0).any(), "p(clear) is 0 for every unmeasured compound"
        # Where every other gate can pass, potency alone never makes p(clear) exactly 0.
        open_gates = ~made & (ranked["p_target_other"] > 0)
        assert (ranked.loc[open_gates, "p_clear_gates"] > 0).all()

    # Measured compounds advance on their evidence; designed ones within the make capacity.
    advance = ranked["decision"] == "advance"
    np.testing.assert_array_equal(advance[made], ranked.loc[made, "p_clear_gates"]
                                  >= settings.advance_at_p)
    designed_adv = ranked.loc[~made & advance, "p_clear_gates"]
    if len(designed_adv) > settings.capacity():
        assert (designed_adv > designed_adv.min()).sum() < settings.capacity()

    # The next batch: unmeasured compounds, σ within 1.5 × SD(y) of the measured series.
    batch_file = run_dir / "next_batch.parquet"
    n_batch = 0
    if batch_file.is_file():
        batch = pd.read_parquet(batch_file)
        n_batch = len(batch)
        assert not set(batch["compound_id"]) & set(ranked.loc[made, "compound_id"])
        if n_batch:
            bound = sd_bound(ranked, settings)
            assert (batch["activity_sd"].astype(float) <= bound + 1e-12).all()
    return {"n": n, "advance": int(advance.sum()), "designed_advance": len(designed_adv),
            "hold": int((ranked["decision"] == "hold").sum()), "next_batch": n_batch,
            "unmeasured_p_positive": int((p[~made.to_numpy()] > 0).sum())}
