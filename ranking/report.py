"""The ranked-candidate report: one self-contained HTML page plus CSV, Parquet and SDF.

The page is built for a project lead who has a minute: summary counts, then the
decision table with structures and the reasons, then the next batch, then the
evidence (plots), then the funnel, failures and provenance. Nothing is fetched from
the network: CSS is inline, structures and plots are inline SVG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ranking import report_plots
from ranking.depict import SeriesCore, depict_svg, write_sdf
from ranking.derive import admet_columns
from ranking.gates import NO_STAGE
from ranking.settings import RankSettings

TEMPLATE_DIR = Path(__file__).parent / "templates"
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
        Number of compounds drawn in the decision table (the files hold all).
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
    top_n: int = 50


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


def _fmt(value: object, digits: int = 2) -> str:
    """A number for a table cell; an en dash for missing."""
    if value is None or isinstance(value, str):
        return value or "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "–" if math.isnan(number) else f"{number:.{digits}f}"


def _get(row: dict, key: str) -> object:
    return row.get(key, np.nan)


def _split(text: object) -> list[str]:
    return [part for part in str(text).split("; ") if part] if isinstance(text, str) else []


def _alerts_cell(alerts: object) -> str:
    if not isinstance(alerts, str):
        return "–"  # the filters did not run for this compound
    return alerts or "none"


def _activity_cell(row: dict) -> str:
    value = _get(row, "activity_p")
    if _fmt(value) == "–":
        return "–"
    qualifier = row.get("activity_qualifier")
    prefix = f"{qualifier} " if qualifier in ("<", ">") else ""
    sd = _get(row, "activity_sd")
    spread = f" ± {_fmt(sd)}" if _fmt(sd) != "–" else ""
    return f"{prefix}{_fmt(value)}{spread} ({row.get('activity_source') or '?'})"


def _decision_rows(ranked: pd.DataFrame, core: SeriesCore | None, top_n: int,
                   has_admet: bool) -> list[dict]:
    rows = []
    for row in ranked.head(top_n).to_dict("records"):
        dg, sem = _get(row, "mmgbsa_kcal_mol"), _get(row, "mmgbsa_sem_kcal_mol")
        status = row.get("sim_status")
        physics = (f"{_fmt(dg, 1)} ± {_fmt(sem, 1)}" if _fmt(dg) != "–"
                   else ("failed" if status == "failed" else "not run"))
        rows.append({
            "rank": int(row["rank"]), "compound_id": str(row["compound_id"]),
            "svg": Markup(depict_svg(row.get("smiles"), core, legend=str(row["compound_id"]))),
            "decision": row["decision"], "decision_reason": row.get("decision_reason", ""),
            "stage": row["stage"], "p_clear": _fmt(row["p_clear_gates"]),
            "score": _fmt(row.get("score")), "activity": _activity_cell(row),
            "mw": _fmt(_get(row, "mw_da"), 0), "clogp": _fmt(_get(row, "clogp"), 1),
            "tpsa": _fmt(_get(row, "tpsa_a2"), 0), "qed": _fmt(_get(row, "qed")),
            "sa": _fmt(_get(row, "sa_score"), 1), "alerts": _alerts_cell(row.get("alerts")),
            "mmgbsa": physics, "stability": _fmt(_get(row, "frac_frames_within_2A")),
            "admet": _fmt(_get(row, "admet_max_risk")) if has_admet else "not predicted",
            "met": _split(row.get("criteria_met")), "missed": _split(row.get("criteria_missed")),
            "pareto": int(row["pareto_rank"]) if "pareto_rank" in row else "–",
        })
    return rows


def _next_batch_rows(batch: pd.DataFrame | None, core: SeriesCore | None) -> list[dict]:
    if batch is None:
        return []
    return [{"pick": int(r["pick"]), "compound_id": str(r["compound_id"]),
             "svg": Markup(depict_svg(r.get("smiles"), core, legend=str(r["compound_id"]),
                                      width=170, height=125)),
             "acquisition": _fmt(r["acquisition"]),
             "activity": f"{_fmt(r['activity_p'])} ± {_fmt(r['activity_sd'])}",
             "reason": r["reason"]} for r in batch.to_dict("records")]


def _summary(ranked: pd.DataFrame, has_admet: bool, settings: RankSettings) -> dict:
    def counts(column: str) -> dict:
        if column not in ranked.columns:
            return {}
        return {str(k): int(v) for k, v in ranked[column].fillna("–").value_counts().items()}

    order = [NO_STAGE] + [s.name for s in settings.stages]
    stages = counts("stage")
    stages = {k: stages[k] for k in sorted(stages, key=lambda k: (order + [k]).index(k))}
    advance = ranked[ranked["decision"] == "advance"] if "decision" in ranked.columns \
        else ranked.iloc[:0]
    sim = ranked["sim_status"] if "sim_status" in ranked.columns else pd.Series(dtype=object)
    return {"n": len(ranked), "decisions": counts("decision"), "stages": stages,
            "sources": counts("activity_source"),
            "sim_ok": int((sim == "ok").sum()), "sim_failed": int((sim == "failed").sum()),
            "admet": "predicted" if has_admet else "not predicted",
            "target": str(ranked["target_stage"].iloc[0]) if len(ranked) else "–",
            "advance_now": [(str(r["compound_id"]), r.get("decision_reason", ""))
                            for r in advance.head(10).to_dict("records")],
            "n_advance_more": max(len(advance) - 10, 0)}


def _gate_rows(settings: RankSettings) -> list[dict]:
    symbols = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
    return [{"stage": stage.display,
             "criteria": "; ".join(
                 f"{c.label} {symbols[c.op]} {c.threshold:g}{' ' + c.unit if c.unit else ''}"
                 f"{' (measured)' if c.requires_measured else ''}" for c in stage.criteria)}
            for stage in settings.stages]


def write_report(ranked: pd.DataFrame, out_dir: Path, context: ReportContext) -> ReportPaths:
    """Write ``report.html`` and ``ranked_candidates.{csv,parquet,sdf}`` into ``out_dir``.

    Parameters
    ----------
    ranked
        Output of :func:`ranking.score.rank_candidates` (sorted by ``rank``).
    out_dir
        Directory to write into (created if needed).
    context
        Provenance, funnel, model, failures, next batch and notes.

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
    core = SeriesCore(context.core) if context.core else None
    has_admet = bool(admet_columns(ranked))
    notes = list(context.notes)
    if not has_admet and not any(n.startswith("ADMET not predicted") for n in notes):
        notes.insert(0, ADMET_MISSING_NOTE)

    ranked.to_csv(paths.csv, index=False)
    ranked.to_parquet(paths.parquet, index=False)
    write_sdf(ranked, paths.sdf, core)

    plots = [(title, report_plots_fn(ranked)) for title, report_plots_fn in (
        ("Predicted vs measured pActivity", report_plots.plot_predicted_vs_measured),
        ("Pareto front: potency vs developability", report_plots.plot_pareto),
        ("Property distributions", report_plots.plot_property_distributions),
        ("MD pose stability and MM/GBSA", report_plots.plot_simulation))]
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]))
    html = env.get_template("report.html").render(
        ctx=context, created=context.created_at.isoformat(timespec="seconds"), notes=notes,
        summary=_summary(ranked, has_admet, context.settings or RankSettings()),
        gates=_gate_rows(context.settings) if context.settings else [],
        rows=_decision_rows(ranked, core, context.top_n, has_admet),
        next_rows=_next_batch_rows(context.next_batch, core),
        plots=[(title, Markup(svg) if svg else None) for title, svg in plots],
        files={k: Path(v).name for k, v in
               (("csv", paths.csv), ("parquet", paths.parquet), ("sdf", paths.sdf))})
    paths.html.write_text(html, encoding="utf-8")
    return paths
