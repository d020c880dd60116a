"""Table rows and pose cards of the report, as plain dicts for the template.

Drawings are kept small (150 × 100 px, no legend: the id sits in the next cell) and the
criteria lists are folded away, so one row is about as tall as its structure and a
lead sees a dozen decisions per screen. Each row also carries the raw values its cells are
sorted and filtered by in the page (``sort``: numbers, "" for missing), so sorting in the
browser orders numbers as numbers and puts missing values last.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from markupsafe import Markup

from ranking.depict import SeriesCore, depict_svg
from ranking.poses import locate_run_dir, read_pose

ROW_SVG = (150, 100)
POSE_SVG = (300, 220)


def fmt(value: object, digits: int = 2) -> str:
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
    """The potency estimate the gates use: mean ± SD (censored measurements marked)."""
    value = _get(row, "activity_p")
    if fmt(value) == "–":
        return "–"
    sd = _get(row, "activity_sd")
    spread = f" ± {fmt(sd)}" if fmt(sd) != "–" else ""
    return f"{fmt(value)}{spread}"


def _interval_cell(row: dict) -> str:
    """The model's 80 % interval on a predicted value ("" for a compound without one)."""
    lo, hi = _get(row, "lower_80"), _get(row, "upper_80")
    if row.get("activity_source") == "measured" or fmt(lo) == "–" or fmt(hi) == "–":
        return ""
    return f"model 80 % interval {fmt(lo)}–{fmt(hi)}"


def stage_probabilities(row: dict, stage_names: Sequence[str]) -> str:
    """"hit 0.95 · lead 0.91 · ..." from the row's ``p_<stage>`` columns."""
    return " · ".join(f"{name} {fmt(_get(row, f'p_{name}'))}" for name in stage_names
                      if f"p_{name}" in row)


def _physics_cell(row: dict) -> tuple[str, str]:
    """(MM/GBSA line, stability and calibrated-pActivity line)."""
    dg, sem = _get(row, "mmgbsa_kcal_mol"), _get(row, "mmgbsa_sem_kcal_mol")
    if fmt(dg) == "–":
        return ("failed" if row.get("sim_status") == "failed" else "not run"), ""
    extra = [f"stab. {fmt(_get(row, 'frac_frames_within_2A'))}"]
    if fmt(_get(row, "calibrated_physics_p")) != "–":
        extra.append(f"p {fmt(_get(row, 'calibrated_physics_p'), 1)} ± "
                     f"{fmt(_get(row, 'calibrated_physics_sd'), 1)}")
    return f"{fmt(dg, 1)} ± {fmt(sem, 1)}", " · ".join(extra)


def anchor(compound_id: object) -> str:
    """HTML id of a compound's pose card."""
    return "pose-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(compound_id))


def sort_value(value: object) -> str:
    """A cell's sort key for the page's script: the number as text, "" when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(number) else repr(round(number, 6))


def _keep(svg: str) -> str:
    return svg


def decision_rows(ranked: pd.DataFrame, core: SeriesCore | None, top_n: int, has_admet: bool,
                  posed: set[str], stage_names: Sequence[str] = (),
                  draw: Callable[[str], str] = _keep) -> list[dict]:
    """Rows of the decision table for the best ``top_n`` compounds.

    Every number is formatted from the ranked table itself with two decimals, so the
    table, the "why" text, the CSV and the Parquet file show the same values. ``draw``
    post-processes each structure drawing (the report compacts them, see
    :class:`ranking.report_svg.SvgCompactor`).
    """
    rows = []
    for row in ranked.head(top_n).to_dict("records"):
        mmgbsa, physics_more = _physics_cell(row)
        compound_id = str(row["compound_id"])
        alerts = _alerts_cell(row.get("alerts"))
        rows.append({
            "sort": {"p_clear": sort_value(row.get("p_clear_gates")), "score": sort_value(row.get("score")),
                     "activity": sort_value(row.get("activity_p")), "mw": sort_value(row.get("mw_da")),
                     "n_alerts": "" if alerts == "–" else sort_value(row.get("n_alerts")),
                     "mmgbsa": sort_value(row.get("mmgbsa_kcal_mol")),
                     "admet": sort_value(row.get("admet_max_risk")) if has_admet else "",
                     "pareto": sort_value(row.get("pareto_rank"))},
            "source": str(row.get("activity_source") or ""),
            "search": f"{compound_id} {row.get('smiles') or ''}".lower(),
            "rank": int(row["rank"]), "compound_id": compound_id,
            "svg": Markup(draw(depict_svg(row.get("smiles"), core, "", *ROW_SVG))),
            "decision": row["decision"], "decision_reason": row.get("decision_reason", ""),
            "stage": row["stage"], "p_clear": fmt(row["p_clear_gates"]),
            "score": fmt(row.get("score")), "activity": _activity_cell(row),
            "activity_source": (row.get("activity_source") or "") + (
                f" · curve: {row['curve_classes']}" if isinstance(row.get("curve_classes"), str)
                and row["curve_classes"] else ""),
            "interval": _interval_cell(row), "evidence": row.get("activity_evidence") or "",
            "p_stages": stage_probabilities(row, stage_names),
            "props": f"MW {fmt(_get(row, 'mw_da'), 0)} · cLogP {fmt(_get(row, 'clogp'), 1)} · "
                     f"TPSA {fmt(_get(row, 'tpsa_a2'), 0)}",
            "props2": f"QED {fmt(_get(row, 'qed'))} · SA {fmt(_get(row, 'sa_score'), 1)}",
            "alerts": alerts,
            "mmgbsa": mmgbsa, "physics_more": physics_more,
            "admet": fmt(_get(row, "admet_max_risk")) if has_admet else "not predicted",
            "met": _split(row.get("criteria_met")), "missed": _split(row.get("criteria_missed")),
            "pareto": int(row["pareto_rank"]) if "pareto_rank" in row else "–",
            "pose_anchor": anchor(compound_id) if compound_id in posed else "",
        })
    return rows


def next_batch_rows(batch: pd.DataFrame | None, core: SeriesCore | None,
                    draw: Callable[[str], str] = _keep) -> list[dict]:
    """Rows of the next-batch table."""
    if batch is None:
        return []
    return [{"pick": int(r["pick"]), "compound_id": str(r["compound_id"]),
             "svg": Markup(draw(depict_svg(r.get("smiles"), core, "", *ROW_SVG))),
             "acquisition": fmt(r["acquisition"]),
             "activity": f"{fmt(r['activity_p'])} ± {fmt(r['activity_sd'])}",
             "p_clear": fmt(r.get("p_clear_gates")),
             "reason": r["reason"]} for r in batch.to_dict("records")]


def pose_cards(ranked: pd.DataFrame, core: SeriesCore | None, top_n: int,
               search_roots: Sequence[Path | str] = ()) -> list[dict]:
    """One card per simulated compound (best-ranked first, at most ``top_n``).

    A card with ``json`` holds the pocket and ligand for the 3D viewer; every card has
    the 2D drawing, shown when there is no pose or the browser cannot draw WebGL.
    """
    if "sim_status" not in ranked.columns:
        return []
    cards = []
    for row in ranked[ranked["sim_status"].notna()].head(top_n).to_dict("records"):
        compound_id = str(row["compound_id"])
        pose, why = None, ""
        if row.get("sim_status") == "ok":
            run_dir = locate_run_dir(row.get("frames_parquet"), search_roots)
            pose = read_pose(run_dir, compound_id, row["rank"]) if run_dir else None
            why = "" if pose else "pose files not found (simulation folder moved or cleaned)"
        else:
            why = f"simulation failed: {row.get('reason_code') or 'unknown reason'}"
        mmgbsa, physics_more = _physics_cell(row)
        caption = (f"MM/GBSA {mmgbsa} kcal/mol{' · ' + physics_more if physics_more else ''}"
                   f" · RMSD mean {fmt(_get(row, 'rmsd_mean_A'), 1)} Å"
                   if row.get("sim_status") == "ok" else "simulation failed")
        cards.append({
            "compound_id": compound_id, "rank": int(row["rank"]), "anchor": anchor(compound_id),
            "decision": row.get("decision", ""), "caption": caption,
            "svg": Markup(depict_svg(row.get("smiles"), core, "", *POSE_SVG)),
            "json": Markup(pose.to_json()) if pose else None, "why": why})
    return cards
