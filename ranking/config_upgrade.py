"""Upgrade rank settings saved by older versions to the current decision model, with a notice.

Saved run configs (``config.yaml`` in a run folder, ``config_json`` in the store) carry the
whole rank section as it was dumped then, defaults included. Three things in them no longer
mean what they did, and are rewritten when such a config is loaded:

* a gate on raw MM/GBSA (e.g. ``≤ −35 kcal/mol``): an absolute kcal/mol threshold says
  nothing across protocols and targets (it passed 13 of 16 Tyk2 ligands, the two weakest
  included); physics now enters the potency estimate, calibrated per series -- the gate is
  removed;
* a potency gate that does not require a measured value (the old "hit" for compounds never
  made): every potency gate now requires a measured value, so a designed compound is never
  a "hit";
* MM/GBSA and calibrated physics as desirabilities of their own: physics is one source of
  the potency estimate, so in the score it counted potency twice -- both are removed.

Each rewrite is logged once per process as a warning naming the stage or property, so the
user sees why decisions from an old config change.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

logger = logging.getLogger(__name__)

RAW_PHYSICS_COLUMNS = frozenset({"mmgbsa_kcal_mol"})
PHYSICS_SCORE_COLUMNS = frozenset({"mmgbsa_kcal_mol", "calibrated_physics_p"})
_NOTICED: set[str] = set()


def upgrade_rank_data(data: Any) -> tuple[Any, list[str]]:
    """Rewrite an old rank-settings mapping; returns (new mapping, one notice per change).

    Anything not a mapping, and mappings without the old constructs, come back unchanged
    with no notice.
    """
    if not isinstance(data, dict):
        return data, []
    notes: list[str] = []
    out = data
    stages = data.get("stages")
    if isinstance(stages, (list, tuple)):
        new_stages = []
        for stage in stages:
            if not isinstance(stage, dict) or not isinstance(stage.get("criteria"), (list, tuple)):
                new_stages.append(stage)
                continue
            kept = []
            for c in stage["criteria"]:
                if isinstance(c, dict) and c.get("column") in RAW_PHYSICS_COLUMNS:
                    notes.append(f"stage '{stage.get('name')}': the absolute gate "
                                 f"{c.get('label', c['column'])} {c.get('op', '')} "
                                 f"{c.get('threshold')} {c.get('unit', '')}".rstrip()
                                 + " was removed (physics enters the potency estimate, "
                                   "calibrated per series)")
                    continue
                if isinstance(c, dict) and c.get("column") == "activity_p" \
                        and not c.get("requires_measured", False):
                    notes.append(f"stage '{stage.get('name')}': its potency gate now requires a "
                                 "measured value (a compound never made is 'designed', not "
                                 f"'{stage.get('name')}')")
                    c = {**c, "requires_measured": True,
                         "source_column": c.get("source_column") or "activity_source"}
                kept.append(c)
            new_stages.append({**stage, "criteria": kept})
        if notes:
            out = {**out, "stages": new_stages}
    profile = data.get("desirability")
    if isinstance(profile, (list, tuple)):
        physics = [d for d in profile if isinstance(d, dict)
                   and d.get("column") in PHYSICS_SCORE_COLUMNS]
        if physics:
            labels = ", ".join(str(d.get("label", d.get("column"))) for d in physics)
            notes.append(f"desirability: {labels} removed from the score (physics is one source "
                         "of the potency estimate; it counted potency twice)")
            out = {**out, "desirability": [d for d in profile if d not in physics]}
    return (copy.deepcopy(out) if notes else data), notes


def notify(notes: list[str]) -> None:
    """Log each upgrade notice once per process (configs are re-validated by every task)."""
    for note in notes:
        if note not in _NOTICED:
            _NOTICED.add(note)
            logger.warning("old project config upgraded: %s", note)
