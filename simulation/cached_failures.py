"""Reuse of deterministic simulation failures: the same inputs fail the same way.

:func:`simulation.run.simulate_ligand` reuses its finished runs from their content-keyed
run directories; a failure that comes from the molecule itself (it cannot be posed,
embedded or typed) is reused here too, so a re-run does not try it again.
"""

from __future__ import annotations

import json
from pathlib import Path

#: Simulation failures that come from the molecule, so the same inputs fail the same way.
#: Charge assignment is left out: it can fail on a time limit under load.
DETERMINISTIC_SIM_FAILURES = frozenset({
    "unsupported_element", "no_pose", "ligand_conversion_failed", "gaff_typing_failed",
    "unparsable_smiles", "no_reference_ligands", "no_common_core", "mcs_match_failed",
    "embedding_failed", "unreadable_pose", "pose_mismatch", "pose_clash", "template_mismatch"})



def reuse_failed_simulation(request, settings, work_dir: Path) -> dict | None:
    """The stored record of an earlier *deterministic* failure of the same request, else None.

    Successful runs are reused by :func:`simulation.run.simulate_ligand` itself; this covers
    failures such as ``embedding_failed`` that would fail again the same way.
    """
    from simulation.run import RECORD_FILE, request_hash

    try:
        key = request_hash(request, settings)
    except OSError:
        return None
    path = Path(work_dir) / key[:16] / RECORD_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("status") == "ok" or record.get("reason_code") not in DETERMINISTIC_SIM_FAILURES:
        return None
    record["compound_id"] = request.compound_id
    record["notes"] = "; ".join(n for n in [record.get("notes", ""), "reused cached failure"] if n)
    return record
