"""The report's SAR section: R-groups on the series core coloured by activity, matched pairs, activity cliffs.

The same analysis as the web app's SAR page (:mod:`ranking.sar`), over the run's measured
compounds. Each distinct R-group is drawn once (an SVG symbol) and reused wherever it occurs.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from moltwin.errors import BadInputError
from ranking.depict import depict_svg
from ranking.report_rows import fmt
from ranking.report_svg import SvgCompactor
from ranking.sar import activity_cliffs, activity_colour, matched_pairs, rgroup_table

#: Most measured compounds decomposed (the most active first); RGroupDecompose grows faster than linearly.
MAX_SAR_COMPOUNDS = 500
RGROUP_SVG = (90, 60)


def sar_section(ranked: pd.DataFrame, core_smiles: str | None, compactor: SvgCompactor,
                max_compounds: int = MAX_SAR_COMPOUNDS) -> dict:
    """Rows, pairs and cliffs for the template, or a ``message`` saying why there are none."""
    empty = {"rows": [], "labels": [], "pairs": [], "cliffs": [], "message": "", "n_measured": 0, "capped": False}
    if "measured_p_activity" not in ranked.columns:
        return {**empty, "message": "no measured compounds in this run"}
    measured = ranked[pd.to_numeric(ranked["measured_p_activity"], errors="coerce").notna()]
    measured = measured.assign(measured_qualifier=measured.get("measured_qualifier", "=").fillna("="))
    measured = measured[["compound_id", "smiles", "measured_qualifier", "measured_p_activity"]]
    if measured.empty:
        return {**empty, "message": "no measured compounds in this run"}
    if not core_smiles:
        return {**empty, "n_measured": len(measured),
                "message": "no series core given (target.core_smiles), so there are no R-groups to decompose"}
    capped = len(measured) > max_compounds
    measured = measured.sort_values("measured_p_activity", ascending=False, kind="stable").head(max_compounds)
    measured = measured.assign(measured_p_activity=measured["measured_p_activity"].astype(float))
    try:
        table, labels = rgroup_table(core_smiles, measured)
    except BadInputError as exc:
        return {**empty, "n_measured": len(measured), "message": str(exc).removeprefix("bad input: ")}
    lo, hi = float(measured["measured_p_activity"].min()), float(measured["measured_p_activity"].max())
    rows = []
    for r in table.to_dict("records"):
        p = float(r["measured_p_activity"])
        rows.append({"compound_id": str(r["compound_id"]), "p": fmt(p), "p_sort": repr(round(p, 6)),
                     "qualifier": r["measured_qualifier"] if r["measured_qualifier"] != "=" else "",
                     "colour": activity_colour(p, lo, hi),
                     "groups": [{"smiles": r[lab] or "H",
                                 "svg": Markup(compactor.symbol(r[lab], depict_svg(r[lab], None, "", *RGROUP_SVG)))
                                 if r[lab] else ""} for lab in labels]})
    pairs = [{**p, "p_a": fmt(p["p_a"]), "p_b": fmt(p["p_b"]), "delta_p": fmt(p["delta_p"])}
             for p in matched_pairs(table, labels).to_dict("records")]
    cliffs = [{**c, "similarity": fmt(c["similarity"]), "p_a": fmt(c["p_a"]), "p_b": fmt(c["p_b"]),
               "delta_p": fmt(c["delta_p"]), "sali": fmt(c["sali"], 1)}
              for c in activity_cliffs(measured).to_dict("records")]
    return {"rows": rows, "labels": labels, "pairs": pairs, "cliffs": cliffs, "message": "",
            "n_measured": len(measured), "capped": capped, "max_compounds": max_compounds,
            "lo": fmt(lo), "hi": fmt(hi), "core": core_smiles}
