"""The report's interactive parts: every compound up to the cap, sort keys, the SAR table, plot axes and labels."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _ranking_data import TYK2_CORE, build_tables, chembl_records, tyk2_records  # noqa: E402

from ranking import report_plots  # noqa: E402
from ranking.merge import merge_candidate_table  # noqa: E402
from ranking.report import REPORT_ROW_CAP, ReportContext, write_report  # noqa: E402
from ranking.report_svg import SvgCompactor  # noqa: E402
from ranking.score import rank_candidates  # noqa: E402
from ranking.settings import RankSettings  # noqa: E402

SETTINGS = RankSettings(n_samples=300)


def _context(core, **kw):
    return ReportContext(project_name="series", run_id="run-1", config_hash="0" * 64, code_version="test",
                         created_at=datetime(2025, 1, 2, tzinfo=timezone.utc), core=core, settings=SETTINGS, **kw)


@pytest.fixture(scope="module")
def tyk2():
    tables = build_tables(tyk2_records(), measured_every=2, n_simulated=5)
    return rank_candidates(merge_candidate_table(**tables), SETTINGS)


@pytest.fixture(scope="module")
def tyk2_html(tyk2, tmp_path_factory):
    return write_report(tyk2, tmp_path_factory.mktemp("r"), _context(TYK2_CORE)).html.read_text(encoding="utf-8")


def _table(html: str) -> str:
    return html[html.index('id="decision-table"'):html.index('id="next-batch"')]


def test_every_compound_is_a_row_with_sort_keys_when_under_the_cap(tyk2, tyk2_html):
    assert REPORT_ROW_CAP == 2000
    rows = re.findall(r'<tr class="decision-row"([^>]*)>', _table(tyk2_html))
    assert len(rows) == len(tyk2) and "Decisions: all 16 compounds" in tyk2_html
    assert 'id="table-capped"' not in tyk2_html
    first = dict(re.findall(r'data-(\w+)="([^"]*)"', rows[0]))
    assert first["decision"] == tyk2["decision"].iloc[0] and float(first["pclear"]) == pytest.approx(
        tyk2["p_clear_gates"].iloc[0], abs=1e-6)
    assert tyk2["compound_id"].iloc[0].lower() in first["search"]
    sortable = re.findall(r'<th data-sort="(num|text)"', tyk2_html)
    assert len(sortable) >= 10  # rank, id, decision, stage, p(clear), score, pActivity, MW, alerts, MM/GBSA, Pareto
    # numbers sort as numbers, and a missing value sorts as missing, not as "–"
    mmgbsa = re.findall(r'<td class="num" data-v="([^"]*)">([^<]*)', _table(tyk2_html))
    assert any(v == "" and text.startswith(("not run", "failed")) for v, text in mmgbsa)
    for control in ("filter-text", "filter-decision", "filter-stage", "filter-pclear", "filter-source", "table-count"):
        assert f'id="{control}"' in tyk2_html


@pytest.mark.slow  # ~30 s: properties and drawings of 300 compounds
def test_a_capped_table_says_so_and_the_files_hold_every_compound(tmp_path):
    tables = build_tables(chembl_records(300), measured_every=3, n_simulated=10)
    ranked = rank_candidates(merge_candidate_table(**tables), SETTINGS)
    paths = write_report(ranked, tmp_path, _context("O=S(=O)(N[*:1])c1ccc(O[*:2])cc1", top_n=120))
    html = paths.html.read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="decision-row"', _table(html))
    assert len(rows) == 120 and "Decisions: top 120 of 300" in html
    assert "capped at 120 compounds" in html and len(pd.read_csv(paths.csv)) == 300
    print("report of 300 (120 drawn):", paths.html.stat().st_size, "bytes")


def test_sar_table_is_coloured_by_activity_with_pairs_and_cliffs(tyk2, tyk2_html):
    section = tyk2_html[tyk2_html.index('id="sar"'):tyk2_html.index('id="poses"')]
    measured = tyk2["measured_p_activity"].notna().sum()
    rows = re.findall(r'<tr class="sar-row">', section)
    assert 0 < len(rows) <= measured
    colours = re.findall(r'class="activity" style="background:(hsl\(\d+, 65%, 82%\))" data-v="([0-9.]+)"', section)
    assert len(colours) == len(rows)
    hues = [int(re.search(r"\d+", c).group(0)) for c, _ in colours]
    values = [float(v) for _, v in colours]
    assert hues[values.index(max(values))] == 120 and hues[values.index(min(values))] == 0  # green best, red worst
    assert 'id="sar-pairs"' in section and 'id="sar-cliffs"' in section
    assert "<use href='#m-sym" in section and "<symbol id='m-sym" in tyk2_html  # each R-group drawn once


def test_without_a_core_the_sar_section_says_why(tyk2, tmp_path):
    html = write_report(tyk2, tmp_path, _context(None)).html.read_text(encoding="utf-8")
    assert 'id="sar-empty"' in html and "no series core given" in html


def test_compacted_drawings_keep_every_path_and_label():
    from ranking.depict import depict_svg

    raw = depict_svg("O=C(Nc1ccnc(NC(=O)C2CC2)c1)c1c(Cl)cccc1F", None, "", 150, 100)
    compactor = SvgCompactor()
    small = compactor.compact(raw)
    assert len(small) < len(raw) / 4
    assert small.count("<text") == raw.count("<text")

    def segments(svg: str) -> list[tuple[float, ...]]:
        out = []
        for d in re.findall(r"d='([^']+)'", svg):
            for part in re.split(r"(?=M)", d):
                if part.strip():
                    out.append(tuple(round(float(x), 1) for x in re.findall(r"-?\d+(?:\.\d+)?", part)))
        return sorted(out)

    assert segments(small) == segments(raw)  # every bond segment kept, at the same coordinates
    assert "style=" not in small and "#FF0000" in compactor.css()  # colours live in the page's CSS


def _figures(monkeypatch) -> list:
    captured = []
    original = report_plots.figure_to_svg
    monkeypatch.setattr(report_plots, "figure_to_svg", lambda fig, name: captured.append(fig) or original(fig, name))
    return captured


def test_every_plot_axis_names_its_unit(tyk2, monkeypatch):
    from ranking.calibrate import fit_physics_calibration

    figures = _figures(monkeypatch)
    table = tyk2.copy()
    for column in ("pred_p_activity", "lower_80", "upper_80"):
        table[f"oof_{column}"] = table[column].where(table["measured_p_activity"].notna())
    traces = {"a": pd.DataFrame({"time_ps": [0.0, 1.0, 2.0], "ligand_rmsd_A": [0.0, 0.8, 1.1]})}
    svgs = [report_plots.plot_predicted_vs_measured(table), report_plots.plot_pareto(table),
            report_plots.plot_property_distributions(table), report_plots.plot_rmsd_traces(traces),
            report_plots.plot_simulation(table),
            report_plots.plot_physics_calibration(table, fit_physics_calibration(table, SETTINGS.calibration))]
    assert all(svgs) and len(figures) == 6
    for fig in figures:
        for ax in fig.axes:
            for label in (ax.get_xlabel(), ax.get_ylabel()):
                assert not label or re.search(r"\((?:[^)]*(?:M|Da|Å|kcal/mol|ps|unitless|count|fraction|hard))",
                                              label), label
        assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()  # both axes of the main panel named


def test_point_labels_do_not_overlap(monkeypatch):
    figures = _figures(monkeypatch)
    rng = np.random.default_rng(3)
    n = 12  # a tight cluster: the old fixed offsets drew these labels on top of each other
    table = pd.DataFrame({"compound_id": [f"CPD-{i:03d}" for i in range(n)],
                          "activity_p": 7.0 + rng.normal(0, 0.02, n), "developability": 0.8 + rng.normal(0, 0.005, n),
                          "pareto_rank": 1, "decision": "advance", "mmgbsa_kcal_mol": -40 + rng.normal(0, 0.1, n),
                          "mmgbsa_sem_kcal_mol": 0.5, "frac_frames_within_2A": 0.9 + rng.normal(0, 0.005, n)})
    report_plots.plot_pareto(table)
    report_plots.plot_simulation(table)
    for fig in figures:
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        assert len(boxes) >= 3  # some labels found room
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), "two point labels overlap"
