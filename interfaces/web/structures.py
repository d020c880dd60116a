"""Structure drawings for the check page: new compounds and the rows to store, as RDKit SVG drawn inline.

The SVG carries atoms and bonds only; compound ids are shown by the template as escaped
text (a legend inside the SVG would put file text into markup).
"""

from __future__ import annotations

from markupsafe import Markup

from ranking.depict import depict_svg

MAX_DRAWN = 60  # a page of drawings; the ids of the rest are listed


def structure_cards(smiles_by_id: dict[str, str], limit: int = MAX_DRAWN) -> list[dict]:
    """``[{"compound_id", "smiles", "svg"}]`` for the first ``limit`` compounds."""
    cards = []
    for cid, smiles in list(smiles_by_id.items())[:limit]:
        svg = depict_svg(smiles, width=200, height=150)
        cards.append({"compound_id": cid, "smiles": smiles, "svg": Markup(svg) if svg else None})
    return cards


MAX_ROW_DRAWINGS = 50  # rows of the "will be stored" table drawn; later rows show their id only


def row_structures(rows: list[dict], registered: dict[str, str], limit: int = MAX_ROW_DRAWINGS) -> dict[str, Markup]:
    """``{compound id: small SVG}`` for the compounds of the first ``limit`` rows.

    A row's own SMILES is drawn where the file gives one, else the structure the compound is
    registered with (``registered``: id -> SMILES); each compound is drawn once.
    """
    drawn: dict[str, Markup] = {}
    for row in rows[:limit]:
        cid = str(row.get("compound_id", ""))
        if not cid or cid in drawn:
            continue
        smiles = row.get("smiles") or registered.get(cid, "")
        svg = depict_svg(smiles, width=120, height=90) if smiles else ""
        drawn[cid] = Markup(svg) if svg else Markup("")
    return drawn
