"""Structure drawings for the check page: new compounds as RDKit SVG, drawn inline.

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
