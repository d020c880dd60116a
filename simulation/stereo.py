"""Candidates with open stereocentres: enumerate the isomers, simulate each, keep the best.

A SMILES that leaves a stereocentre (or a stereo double bond) open is not one compound;
embedding it would simulate whichever isomer the embedder happened to build. Instead:

* :func:`expand_stereoisomers` turns such a candidate into up to ``max_isomers``
  separate ligands, each fully defined, with ids ``<parent>~s1``, ``<parent>~s2``, ...
  (sorted canonical SMILES, so the ids are stable) linked to the parent by
  ``parent_compound_id``. A candidate with more isomers than that is left as it is: the
  simulation stage refuses it (``undefined_stereo``, isomers listed), so it is flagged,
  never simulated as an arbitrary isomer.
* :func:`aggregate_stereoisomers` gives the parent one record: the isomer with the most
  favourable MM/GBSA among those that finished with a trusted pose (the chemist can make
  or separate that isomer), with every isomer's value in ``stereo_note``. Taking the best
  of k noisy values is optimistic by up to about one standard error; the note says which
  isomer was taken and the others' values, so the choice stays visible.
"""

from __future__ import annotations

import math
from collections import defaultdict

from rdkit import Chem

from simulation.pose import stereoisomer_smiles, undefined_stereo

ISOMER_SEPARATOR = "~s"
_UNTRUSTED_POSES = {"failed", "unchecked"}


def isomer_id(parent_id: str, k: int) -> str:
    """Id of the ``k``-th (1-based) stereoisomer of ``parent_id``."""
    return f"{parent_id}{ISOMER_SEPARATOR}{k}"


def parent_of(compound_id: str) -> str:
    """The parent candidate of an isomer id (the id itself otherwise)."""
    return str(compound_id).split(ISOMER_SEPARATOR)[0]


def expand_stereoisomers(compound_id: str, smiles: str, max_isomers: int = 4) -> list[dict]:
    """Simulation items for one candidate: itself, or one per stereoisomer.

    Parameters
    ----------
    compound_id, smiles
        The candidate.
    max_isomers
        Most isomers simulated for one candidate; with more, the candidate is returned
        unchanged (the simulation refuses it as ``undefined_stereo``).

    Returns
    -------
    list of dict
        ``{"compound_id", "smiles"}`` items; isomer items also carry
        ``parent_compound_id``, ``parent_smiles`` and ``n_stereoisomers``.
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or not undefined_stereo(mol):
        return [{"compound_id": compound_id, "smiles": smiles}]
    isomers = stereoisomer_smiles(mol, max_isomers=max_isomers + 1)
    isomers = [s for s in isomers if not undefined_stereo(Chem.MolFromSmiles(s))]
    if not isomers or len(isomers) > max_isomers:
        return [{"compound_id": compound_id, "smiles": smiles}]
    return [{"compound_id": isomer_id(compound_id, k), "smiles": iso, "parent_compound_id": compound_id,
             "parent_smiles": smiles, "n_stereoisomers": len(isomers)}
            for k, iso in enumerate(isomers, start=1)]


def _dg(record: dict) -> float:
    value = record.get("mmgbsa_kcal_mol")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def _usable(record: dict) -> bool:
    return (record.get("status") == "ok" and math.isfinite(_dg(record))
            and str(record.get("pose_check_status", "")) not in _UNTRUSTED_POSES)


def _describe(record: dict) -> str:
    if record.get("status") != "ok":
        return (f"{record['compound_id']} {record.get('stereoisomer_smiles', '')} failed "
                f"({record.get('reason_code', '')})")
    sem = record.get("mmgbsa_sem_kcal_mol")
    sem_text = f" ± {float(sem):.1f}" if sem is not None and math.isfinite(float(sem)) else ""
    pose = str(record.get("pose_check_status", ""))
    flag = f" (pose {pose})" if pose in _UNTRUSTED_POSES else ""
    return f"{record['compound_id']} {record.get('stereoisomer_smiles', '')} {_dg(record):.1f}{sem_text}{flag}"


def aggregate_stereoisomers(records: list[dict]) -> list[dict]:
    """One record per parent candidate from its isomers' records; other records unchanged.

    Parameters
    ----------
    records
        Simulation records (dicts); isomer records carry ``parent_compound_id``.

    Returns
    -------
    list of dict
        Records without ``parent_compound_id`` as given, then one record per parent: a copy
        of its best isomer's record (most negative MM/GBSA among ok isomers with a trusted
        pose) with ``compound_id`` set to the parent, ``stereoisomer_smiles`` the isomer
        taken, ``n_stereoisomers`` and ``stereo_note`` listing every isomer's value; when
        no isomer qualifies, a failed record for the parent saying why.
    """
    plain, groups = [], defaultdict(list)
    for record in records:
        parent = record.get("parent_compound_id")
        if parent:
            groups[str(parent)].append(record)
        else:
            plain.append(record)
    out = list(plain)
    for parent, isomers in groups.items():
        isomers = sorted(isomers, key=lambda r: str(r["compound_id"]))
        usable = [r for r in isomers if _usable(r)]
        listing = "; ".join(_describe(r) for r in isomers)
        n = int(isomers[0].get("n_stereoisomers") or len(isomers))
        if usable:
            best = min(usable, key=_dg)
            merged = dict(best)
            merged["stereo_note"] = (f"{n} stereoisomers simulated, best MM/GBSA taken "
                                     f"({best['compound_id']}): {listing}")
        else:
            merged = dict(isomers[0])
            merged.update(status="failed", reason_code="no_usable_stereoisomer",
                          message=f"none of the {n} stereoisomers gave a usable result: {listing}",
                          mmgbsa_kcal_mol=math.nan, mmgbsa_sem_kcal_mol=math.nan)
            merged["stereo_note"] = merged["message"]
        merged.update(isomer_compound_id=merged["compound_id"] if usable else "",
                      compound_id=parent, n_stereoisomers=n)
        merged.pop("parent_compound_id", None)
        out.append(merged)
    return out
