"""write_report: files, self-containment, structures, SDF round trip, size."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import TYK2_CORE, build_tables, chembl_records, tyk2_records  # noqa: E402
from _ranking_poses import add_poses  # noqa: E402

from moltwin.records import FailureRecord  # noqa: E402
from ranking.depict import SeriesCore, depiction_mol, has_clash  # noqa: E402
from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.next_batch import propose_next_batch  # noqa: E402
from ranking.report import (VIEWER_JS, ModelSummary, ReportContext, count_failures,  # noqa: E402
                            write_report)
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import RankSettings  # noqa: E402

SETTINGS = RankSettings(n_samples=500)
EXTERNAL = re.compile(r"""(<script|<link|<img|<iframe|@import|url\()[^>]*https?://""", re.I)


def _context(ranked, core, **kw):
    failures = pd.DataFrame([FailureRecord("simulate", "nan_energy", "blew up", "ejm_44"),
                             FailureRecord("filter", "pains", "alert", "x1"),
                             FailureRecord("simulate", "nan_energy", "blew up", "ejm_49")])
    return ReportContext(
        project_name="Tyk2 <series>", run_id="run-0001",
        created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        config_hash="0123456789abcdef", code_version="0.1.0+test", core=core,
        funnel=[{"step": "generate", "n_in": 40, "n_rejected": 0, "n_out": 40},
                {"step": "filter", "n_in": 40, "n_rejected": 24, "n_out": len(ranked)}],
        model=ModelSummary("knn3-loo", {"rmse": 0.61, "spearman": 0.55}, 8),
        failure_counts=count_failures(failures),
        next_batch=propose_next_batch(ranked, 4, SETTINGS), settings=SETTINGS, **kw)


@pytest.fixture(scope="module")
def tyk2_merged():
    return merge_candidate_table(**build_tables(tyk2_records()))


@pytest.fixture(scope="module")
def tyk2_ranked(tyk2_merged):
    return rank_candidates(tyk2_merged, SETTINGS)


@pytest.fixture(scope="module")
def tyk2_report(tyk2_ranked, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return write_report(tyk2_ranked, out, _context(tyk2_ranked, TYK2_CORE)), tyk2_ranked


def test_all_files_written(tyk2_report):
    paths, ranked = tyk2_report
    for path in (paths.html, paths.csv, paths.parquet, paths.sdf):
        assert path.exists() and path.stat().st_size > 0
    pd.testing.assert_frame_equal(pd.read_parquet(paths.parquet), ranked, check_dtype=False)
    assert list(pd.read_csv(paths.csv)["compound_id"]) == list(ranked["compound_id"])


def test_html_is_self_contained_and_complete(tyk2_report):
    paths, ranked = tyk2_report
    html = paths.html.read_text(encoding="utf-8")
    assert EXTERNAL.search('<script src="https://cdn.example.org/x.js">')  # the check can fail
    assert not EXTERNAL.search(html)
    assert not re.search(r"<script[^>]*\bsrc=", html) and "<link" not in html  # scripts inline only
    assert html.count("<script>") == 1 and "report-table.js" in html  # the table's own sort/filter script
    assert html.count("<svg") >= len(ranked) + 3  # structures + plots
    for compound_id in ranked["compound_id"]:
        assert compound_id in html
    assert "Tyk2 &lt;series&gt;" in html  # escaped
    assert "ADMET not predicted" in html
    # first screen before details: summary, decisions, next batch, plots, funnel, provenance
    order = [html.index(f'id="{s}"') for s in
             ("summary", "decisions", "next-batch", "plots", "funnel", "provenance")]
    assert order == sorted(order)
    assert "nan_energy" in html and "knn3-loo" in html and "0123456789abcdef" in html
    assert "pActivity" in html and "(measured) ≥ 7.0: p " in html


def test_sdf_round_trips(tyk2_report):
    paths, ranked = tyk2_report
    mols = list(Chem.SDMolSupplier(str(paths.sdf)))
    assert len(mols) == len(ranked) and all(m is not None for m in mols)
    assert [m.GetProp("_Name") for m in mols] == list(ranked["compound_id"])
    first = mols[0]
    assert first.GetProp("decision") == ranked["decision"].iloc[0]
    assert float(first.GetProp("p_clear_gates")) == pytest.approx(ranked["p_clear_gates"].iloc[0])
    assert Chem.MolToInchiKey(first) == ranked["inchikey"].iloc[0]


def test_bad_smiles_and_admet_columns(tyk2_merged, tmp_path):
    merged = tyk2_merged.assign(admet_herg=0.2)
    ranked = rank_candidates(merged, SETTINGS)
    ranked.loc[3, "smiles"] = "C1CC"  # unparsable: still one record, no drawing
    paths = write_report(ranked, tmp_path, _context(ranked, None, notes=["a note"]))
    html = paths.html.read_text(encoding="utf-8")
    assert "ADMET not predicted" not in html and "a note" in html and "no structure" in html
    assert len(list(Chem.SDMolSupplier(str(paths.sdf)))) == len(ranked)


def test_core_alignment_draws_the_core_identically():
    core = SeriesCore(TYK2_CORE)
    coords = []
    for _, smiles, _ in tyk2_records()[:4]:
        mol = depiction_mol(smiles, core)
        assert not has_clash(mol)
        match = mol.GetSubstructMatch(core.pattern)
        xyz = mol.GetConformer().GetPositions()
        coords.append(xyz[[i for i, q in zip(match, core.pattern.GetAtoms())
                           if q.GetAtomicNum() > 0]])
    for other in coords[1:]:
        assert abs(other - coords[0]).max() < 1e-3


def test_report_with_poses_changes_and_calibration(tmp_path):
    tables = build_tables(tyk2_records(), measured_every=1, n_simulated=8)
    tables["simulations"] = add_poses(tables["simulations"], tmp_path, with_files=3)
    ranked = rank_candidates(merge_candidate_table(**tables), SETTINGS)
    previous = ranked.iloc[::-1].assign(rank=range(1, len(ranked) + 1), decision="hold")
    paths = write_report(ranked, tmp_path / "out", _context(
        ranked, TYK2_CORE, previous_ranked=previous, previous_run_id="run-0000",
        search_roots=[tmp_path], pose_top_n=10))
    html = paths.html.read_text(encoding="utf-8")
    assert html.count("<script>/* 3Dmol.js") == 1  # the viewer inlined once, unchanged
    viewer = VIEWER_JS.read_text(encoding="utf-8")
    assert html.count(viewer) == 1
    # Outside the library (whose download helpers name RCSB and PubChem but are never
    # called), nothing points to the network.
    page = html.replace(viewer, "")
    assert not EXTERNAL.search(page) and "<link" not in page and "src=" not in page
    assert html.count('type="application/json"') == 3  # three poses with files
    assert html.count('class="pose3d"') == 9  # 8 simulated + 1 failed
    assert "pose files not found" in html and "No 3D pose: simulation failed" in html
    assert html.count('>3D pose</a>') == 3
    assert "40 generated → 16 passed filters (rejected: filter 24) → 16 ranked" in html
    assert "out-of-fold RMSE 0.61, Spearman 0.55 on 8 measurements (knn3-loo)" in html
    assert "Changes since the last run" in html and "run-0000" in html
    assert "decision changed" in html
    assert "calibrated: pActivity =" in html  # the stand-in MM/GBSA tracks potency
    assert "MD stability: ligand RMSD over time" in html
    assert "Physics calibration: measured pActivity vs MM/GBSA" in html
    assert html.count('class="decision-row"') == len(ranked)
    assert paths.html.stat().st_size < 1_500_000


def test_decision_rows_are_compact(tyk2_report):
    paths, _ = tyk2_report
    html = paths.html.read_text(encoding="utf-8")
    table = html[html.index('id="decision-table"'):html.index('id="next-batch"')]
    heights = [int(h) for h in re.findall(r"<svg[^>]*height='(\d+)(?:px)?'", table)]
    assert heights and max(heights) <= 100
    # The criteria lists are folded away: only the one-line reason shows.
    assert table.count("<details>") == table.count('class="decision-row"')


@pytest.mark.slow  # ~10 s: RDKit properties for 300 compounds, then the full report
def test_report_for_300_candidates_stays_small(tmp_path):
    tables = build_tables(chembl_records(300), measured_every=3, n_simulated=20)
    ranked = rank_candidates(merge_candidate_table(**tables), SETTINGS)
    paths = write_report(ranked, tmp_path, _context(ranked, "O=S(=O)(N[*:1])c1ccc(O[*:2])cc1"))
    html = paths.html.read_text(encoding="utf-8")
    assert paths.html.stat().st_size < 5_000_000
    assert html.count("<svg") >= 50 + 4 + 4  # top 50, next batch, plots, pose fallbacks
    assert len(list(Chem.SDMolSupplier(str(paths.sdf)))) == 300
    sizes = {p.name: p.stat().st_size for p in (paths.html, paths.csv, paths.parquet, paths.sdf)}
    print("report sizes for 300 candidates (bytes):", sizes)


def test_report_decisions_are_coherent_and_identical_everywhere(tyk2_report):
    """The rendered table, the "why" text, the CSV and the Parquet file agree, and the
    decisions agree with the rank order; the glossary explains the terms with units."""
    paths, ranked = tyk2_report
    html = paths.html.read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="decision-row"[^>]*>\s*<td class="num"[^>]*>(\d+)</td>.*?'
                      r'<span class="badge (\w+)">.*?<td class="num"[^>]*>([0-9.]+)', html, re.S)
    assert len(rows) == len(ranked)
    csv = pd.read_csv(paths.csv)
    parquet = pd.read_parquet(paths.parquet)
    tiers = {"advance": 0, "hold": 1, "deprioritize": 2}
    for (rank, decision, p_clear), (_, row) in zip(rows, ranked.iterrows()):
        assert int(rank) == row["rank"] and decision == row["decision"]
        assert p_clear == f"{row['p_clear_gates']:.2f}"
        assert f"= {p_clear}" in row["decision_reason"]
    assert [tiers[d] for _, d, _ in rows] == sorted(tiers[d] for _, d, _ in rows)
    for column in ("rank", "decision", "stage", "p_clear_gates", "activity_p", "activity_sd",
                   "decision_reason", "activity_evidence"):
        assert list(csv[column]) == list(parquet[column]) or \
            pd.Series(csv[column]).round(12).tolist() == pd.Series(parquet[column]).round(12).tolist()
    assert 'id="glossary"' in html and "pKi = 9 − log₁₀(Ki / nM)" in html
    assert "p(clear)" in html and "Pareto rank" in html and "kcal/mol" in html
    # Never-measured compounds are "designed", and predicted values carry their interval.
    designed = ranked[ranked["activity_source"] == "predicted"]
    assert (designed["stage"] == "designed").all()
    assert "model 80 % interval" in html
    assert "no out-of-fold predictions in this table" in html


def test_model_evidence_is_out_of_fold_coverage_and_error_by_domain(tyk2_ranked):
    from ranking.report_summary import model_evidence

    assert not model_evidence(tyk2_ranked)["available"]  # no oof_ columns: nothing in-sample shown
    # The test tables' kNN predictions are leave-one-out for the measured compounds.
    table = tyk2_ranked.copy()
    for column in ("pred_p_activity", "lower_80", "upper_80", "lower_90", "upper_90"):
        table[f"oof_{column}"] = table[column].where(table["measured_p_activity"].notna())
    evidence = model_evidence(table)
    measured = table[table["measured_p_activity"].notna()]
    y, pred = measured["measured_p_activity"], measured["oof_pred_p_activity"]
    assert evidence["available"] and evidence["n"] == len(measured)
    assert evidence["rmse"] == pytest.approx(float(((pred - y) ** 2).mean() ** 0.5))
    inside80 = ((measured["lower_80"] <= y) & (y <= measured["upper_80"])).mean()
    assert dict(evidence["coverage"])[80] == pytest.approx(inside80)
    assert sum(n for _, n, _ in evidence["bins"]) == len(measured)
    # Out-of-fold predictions of measured compounds now join their potency estimate.
    ranked = rank_candidates(table, SETTINGS)
    assert ranked.loc[ranked["activity_source"] == "measured", "activity_evidence"] \
        .str.contains("out-of-fold predicted").all()
