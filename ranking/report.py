"""The ranked-candidate report: one self-contained HTML page plus CSV, Parquet and SDF.

The page is built for a project lead who has a minute: summary counts, then the
decision table with structures and the reasons (every compound up to :data:`REPORT_ROW_CAP`,
sortable by any numeric column and filterable by text, decision, stage, p(clear) and measured /
predicted, by a short script of our own inlined in the page), then the next batch, the SAR
table, the simulated poses in 3D, the evidence (plots), then the funnel, failures and
provenance. Nothing is fetched from the network: CSS and scripts are inline, structures and
plots are inline SVG (structures compacted to shared CSS classes, see
:mod:`ranking.report_svg`), and the 3D viewer (3Dmol.js, BSD-3, ``ranking/static``) is inlined
once with the poses as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ranking import report_plots
from ranking.calibrate import fit_physics_calibration
from ranking.depict import SeriesCore, write_sdf
from ranking.derive import admet_columns
from ranking.poses import read_rmsd_traces
from ranking.report_rows import decision_rows, next_batch_rows, pose_cards
from ranking.report_sar import sar_section
from ranking.report_svg import SvgCompactor
from ranking.report_summary import (GLOSSARY, change_summary, funnel_line, gate_rows,
                                    model_evidence, model_line, summarize_ranking)
from ranking.settings import RankSettings
from moltwin.csv_export import write_safe_csv

TEMPLATE_DIR = Path(__file__).parent / "templates"
VIEWER_JS = Path(__file__).parent / "static" / "3Dmol-min.js"
TABLE_JS = Path(__file__).parent / "static" / "report-table.js"
#: Most compounds drawn in the report's decision table; the CSV, Parquet and SDF hold every one. At the cap a
#: page is ~12 MB (~4 kB a row, half of it the drawing) written in ~47 s on a loaded 2-CPU VM
#: (``bench/report_size.py``, ``bench/results/report_size.txt``).
REPORT_ROW_CAP = 2000
ADMET_MISSING_NOTE = ("ADMET not predicted: the candidate table has no admet_* columns, so "
                      "ADMET criteria are unknown (counted as not met) and no ADMET values "
                      "are shown.")


@dataclass(slots=True)
class ModelSummary:
    """The activity model behind the predictions.

    Attributes
    ----------
    model_id
        Identifier/version of the trained model.
    cv_metrics
        Cross-validation metrics by name (e.g. ``{"rmse": 0.62, "r2": 0.55}``).
    n_train
        Number of training measurements.
    """

    model_id: str
    cv_metrics: dict[str, float] = field(default_factory=dict)
    n_train: int = 0


@dataclass(slots=True)
class ReportContext:
    """Everything the report shows besides the ranked table.

    Attributes
    ----------
    project_name, run_id, created_at, config_hash, code_version
        Header and provenance.
    core
        Series core (SMILES with ``[*:n]`` R-group dummies, or SMARTS) used to align
        structure drawings; ``None`` draws each molecule on its own.
    funnel
        Rows with ``step``, ``n_in``, ``n_rejected``, ``n_out``.
    model
        Summary of the activity model, if one was used.
    failure_counts
        Rows with ``stage``, ``reason_code``, ``count`` (see :func:`count_failures`).
    next_batch
        Output of :func:`ranking.next_batch.propose_next_batch`, if any.
    notes
        Free-text caveats shown near the top (e.g. "ADMET not predicted: ...").
    input_hashes
        Input file name -> content hash, for provenance.
    settings
        The rank settings used; their stage gates are listed in the report.
    top_n
        Most compounds drawn in the decision table (default :data:`REPORT_ROW_CAP`; the
        page says when the table is capped, and the CSV, Parquet and SDF files hold all).
    previous_ranked
        The previous run's ranked table (``compound_id``, ``rank``, ``decision``) for
        "what changed since the last run"; ``None`` for a first run.
    previous_run_id
        Id of that run, shown next to the changes.
    changes_top_n
        Size of the top list whose new entries and departures are reported.
    pose_top_n
        Most simulated compounds shown in the 3D pose section.
    search_roots
        Folders against which relative ``frames_parquet`` paths of simulation records
        are resolved (the working directory is always tried first).
    """

    project_name: str
    run_id: str
    created_at: datetime
    config_hash: str
    code_version: str
    core: str | None = None
    funnel: list[dict] = field(default_factory=list)
    model: ModelSummary | None = None
    failure_counts: list[dict] = field(default_factory=list)
    next_batch: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    input_hashes: dict[str, str] = field(default_factory=dict)
    settings: RankSettings | None = None
    top_n: int = REPORT_ROW_CAP
    previous_ranked: pd.DataFrame | None = None
    previous_run_id: str = ""
    changes_top_n: int = 20
    pose_top_n: int = 5
    search_roots: list[Path] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class ReportPaths:
    """Files written by :func:`write_report`."""

    html: Path
    csv: Path
    parquet: Path
    sdf: Path


def count_failures(failures: pd.DataFrame) -> list[dict]:
    """Count failure records (``FailureRecord`` rows) by stage and reason code."""
    if failures is None or failures.empty:
        return []
    counts = failures.groupby(["stage", "reason_code"], dropna=False).size()
    counts = counts.sort_values(ascending=False, kind="mergesort")
    return [{"stage": s, "reason_code": r, "count": int(n)} for (s, r), n in counts.items()]


def _plots(ranked: pd.DataFrame, calibration, traces: dict) -> list[tuple[str, str | None]]:
    plots = [
        ("Predicted vs measured pActivity", report_plots.plot_predicted_vs_measured(ranked)),
        ("Pareto front: potency vs developability", report_plots.plot_pareto(ranked)),
        ("Property distributions", report_plots.plot_property_distributions(ranked)),
        ("MD stability: ligand RMSD over time", report_plots.plot_rmsd_traces(traces)),
        ("MD pose stability and MM/GBSA", report_plots.plot_simulation(ranked)),
    ]
    calibration_plot = report_plots.plot_physics_calibration(ranked, calibration)
    if calibration_plot:
        plots.append(("Physics calibration: measured pActivity vs MM/GBSA", calibration_plot))
    return plots


def write_report(ranked: pd.DataFrame, out_dir: Path, context: ReportContext) -> ReportPaths:
    """Write ``report.html`` and ``ranked_candidates.{csv,parquet,sdf}`` into ``out_dir``.

    Parameters
    ----------
    ranked
        Output of :func:`ranking.score.rank_candidates` (sorted by ``rank``).
    out_dir
        Directory to write into (created if needed).
    context
        Provenance, funnel, model, failures, next batch, notes and the previous ranking.

    Returns
    -------
    ReportPaths
        Paths of the four files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(html=out_dir / "report.html", csv=out_dir / "ranked_candidates.csv",
                        parquet=out_dir / "ranked_candidates.parquet",
                        sdf=out_dir / "ranked_candidates.sdf")
    settings = context.settings or RankSettings()
    core = SeriesCore(context.core) if context.core else None
    has_admet = bool(admet_columns(ranked))
    notes = list(context.notes)
    if not has_admet and not any(n.startswith("ADMET not predicted") for n in notes):
        notes.insert(0, ADMET_MISSING_NOTE)

    write_safe_csv(ranked, paths.csv)  # formula-like text cells neutralised; Parquet stays exact
    ranked.to_parquet(paths.parquet, index=False)
    write_sdf(ranked, paths.sdf, core)

    roots = [*context.search_roots, out_dir]
    calibration = fit_physics_calibration(ranked, settings.calibration)
    cards = pose_cards(ranked, core, context.pose_top_n, roots)
    traces = read_rmsd_traces(ranked, 8, roots)
    summary = summarize_ranking(ranked, has_admet, settings)
    compactor = SvgCompactor()
    rows = decision_rows(ranked, core, context.top_n, has_admet, {c["compound_id"] for c in cards if c["json"]},
                         [s.name for s in settings.stages], draw=compactor.compact)
    next_rows = next_batch_rows(context.next_batch, core, draw=compactor.compact)
    sar = sar_section(ranked, context.core, compactor)
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]))
    html = env.get_template("report.html").render(
        ctx=context, created=context.created_at.isoformat(timespec="seconds"), notes=notes,
        summary=summary, funnel=funnel_line(context.funnel, summary["n"]),
        model=model_line(context.model), calibration=calibration,
        changes=change_summary(context.previous_ranked, ranked, context.changes_top_n),
        gates=gate_rows(settings) if context.settings else [],
        rows=rows, row_cap=context.top_n,
        decisions=sorted({r["decision"] for r in rows if r["decision"]}),
        stages=sorted({r["stage"] for r in rows if r["stage"]}),
        evidence=model_evidence(ranked), glossary=GLOSSARY,
        next_rows=next_rows, poses=cards, sar=sar,
        mol_css=Markup(compactor.css()), mol_symbols=Markup(compactor.symbols()),
        table_js=Markup(TABLE_JS.read_text(encoding="utf-8")),
        viewer_js=Markup(VIEWER_JS.read_text(encoding="utf-8"))
        if any(c["json"] for c in cards) else None,
        plots=[(title, Markup(svg) if svg else None) for title, svg in
               _plots(ranked, calibration, traces)],
        files={k: Path(v).name for k, v in
               (("csv", paths.csv), ("parquet", paths.parquet), ("sdf", paths.sdf))})
    paths.html.write_text(html, encoding="utf-8")
    return paths
