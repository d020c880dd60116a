"""Re-key stored compounds with the stereo-keeping standardization (schema migration 4).

Before migration 4, standardization with canonical tautomers flattened stereocentres and
double bonds, so a stored InChIKey could name the flat structure while the stored SMILES
kept its stereo. Here every compound's key is computed again from its stored structure.
Measurements, predictions and rankings refer to compounds by ``compound_id``, which never
changes, so re-keying loses nothing. A key that another compound of the project already
holds is left as it was and the conflict is written into the compound's provenance.
"""

from __future__ import annotations

import json

from sqlalchemy import column, select, table, update
from sqlalchemy.engine import Connection

from moltwin.errors import ChemistryError

# The columns this step reads and writes, named here rather than imported from lab_sync.schema
# (whose migration 4 calls this module: importing it back would be a circle).
_COMPOUNDS = table("compounds", *(column(name) for name in (
    "id", "project", "compound_id", "canonical_smiles", "inchikey", "provenance", "input_smiles")))


def _provenance(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"original": text}
    return value if isinstance(value, dict) else {"original": value}


def rekey_compounds(conn: Connection) -> dict[str, int]:
    """Recompute every stored compound's InChIKey and fill its input structure.

    Returns
    -------
    dict
        ``{"rekeyed": n, "conflicts": n, "failed": n}``.
    """
    comp = _COMPOUNDS
    rows = conn.execute(select(comp.c.id, comp.c.project, comp.c.compound_id,
                               comp.c.canonical_smiles, comp.c.inchikey, comp.c.provenance,
                               comp.c.input_smiles).order_by(comp.c.id)).all()
    counts = {"rekeyed": 0, "conflicts": 0, "failed": 0}
    if not rows:  # a new store: nothing to re-key (and no need to load RDKit)
        return counts
    from chem.standardize import standardize_smiles

    taken = {(r.project, r.inchikey): r.compound_id for r in rows}
    for r in rows:
        values: dict = {}
        if not r.input_smiles:
            values["input_smiles"] = r.canonical_smiles  # the only input an old store kept
        try:
            key = standardize_smiles(r.canonical_smiles).inchikey
        except ChemistryError:
            counts["failed"] += 1  # keep the stored key: better than none
            key = r.inchikey
        if key != r.inchikey:
            prov = _provenance(r.provenance)
            holder = taken.get((r.project, key))
            if holder is not None:
                prov["rekey_conflict"] = {"inchikey": key, "held_by": holder}
                counts["conflicts"] += 1
            else:
                prov["rekeyed_from"] = r.inchikey
                del taken[(r.project, r.inchikey)]
                taken[(r.project, key)] = r.compound_id
                values["inchikey"] = key
                counts["rekeyed"] += 1
            values["provenance"] = json.dumps(prov)
        if values:
            conn.execute(update(comp).where(comp.c.id == r.id).values(**values))
    return counts
