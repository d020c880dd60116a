"""Is a pose worth simulating? PoseBusters checks, run offline before any MD.

PoseBusters (Buttenschoen, Morris & Deane, Chem. Sci. 2024, 15, 3130) tests
a pose the way a crystallographer would glance at it. We run its ``dock``
configuration minus three parts: the internal-energy ratio (it embeds 50
conformers per ligand, seconds each, and MD minimization relaxes strain
anyway) and the cofactor/water distance tests (the prepared protein has no
cofactors or waters left). What remains: RDKit sanitization and
connectivity, bond lengths, bond angles and internal clashes against
distance-geometry bounds, ring and double-bond flatness, and the
protein–ligand tests (within 5 Å of the protein, volume overlap below 7.5 %,
and no heavy-atom pair closer than half the van der Waals sum). That last
limit is ours: PoseBusters judges final docking output at 0.75, but our poses
are minimized together with the protein before any dynamics, which resolves
contacts such as a chlorine 2.4 Å from a carbon (0.70 of the sum; an MCS pose
of a Tyk2 analog) or the 1.86 Å C–O contact (0.57) in the published ejm_49
pose. Below 0.5 the overlap is beyond what a minimizer should be asked to
fix. All of it is RDKit code: nothing is downloaded.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
from rdkit import Chem

log = logging.getLogger(__name__)

_SKIPPED_FUNCTIONS = {"energy_ratio"}
PROTEIN_CLASH_CUTOFF = 0.5  # fraction of the vdW radius sum (PoseBusters default 0.75)
_KEPT_SUFFIXES = {None, "_protein"}  # drop the cofactor and water variants


@functools.lru_cache(maxsize=1)
def _busters():
    import posebusters
    import yaml

    config_path = Path(posebusters.__file__).parent / "config" / "dock.yml"
    config = yaml.safe_load(config_path.read_text())
    config["modules"] = [m for m in config["modules"]
                         if m["function"] not in _SKIPPED_FUNCTIONS
                         and m.get("rename_suffix") in _KEPT_SUFFIXES]
    for module in config["modules"]:
        if module["function"] == "intermolecular_distance":
            module["parameters"]["clash_cutoff"] = PROTEIN_CLASH_CUTOFF
    return posebusters.PoseBusters(config=config, max_workers=0)


def failed_pose_checks(mol: Chem.Mol, protein_pdb: str | Path) -> tuple[list[str], list[str]]:
    """Run the PoseBusters checks on a ligand pose in its protein.

    Parameters
    ----------
    mol
        Posed ligand with explicit hydrogens.
    protein_pdb
        The prepared protein (PDB, same frame as the pose).

    Returns
    -------
    tuple of (list of str, list of str)
        Names of the failed checks (empty when the pose passes) and notes about
        checks that could not run (e.g. the protein could not be loaded). A
        non-empty second list means the pose is *unchecked*, never passed:
        see :func:`pose_verdict`.
    """
    try:
        table = _busters().bust(Chem.Mol(mol), None, str(protein_pdb), full_report=False)
    except Exception as exc:  # a check that cannot run must not kill the run, nor pass it
        log.warning("PoseBusters could not run: %s", exc)
        return [], [f"PoseBusters could not run: {exc}"]
    row = table.iloc[0]
    notes: list[str] = []
    checks = {str(k): bool(v) for k, v in row.items() if isinstance(v, (bool, np.bool_))}
    if not checks.pop("mol_cond_loaded", True):
        notes.append("PoseBusters could not load the protein: protein checks not run")
        for name in [n for n in checks if "protein" in n]:
            checks.pop(name)
    failed = [name for name, ok in checks.items() if not ok]
    return failed, notes


PASSED, FAILED, UNCHECKED = "passed", "failed", "unchecked"


def is_contact_failure(check: str) -> bool:
    """A failed check that a restrained relaxation in the protein may fix (clash, overlap)."""
    return check == "pose_clash" or ("protein" in check and "maximum" not in check)


def pose_verdict(failed: list[str], not_run: list[str]) -> str:
    """``failed`` when any check failed, ``unchecked`` when any could not run, else ``passed``.

    Fail closed: a check that cannot run never counts as passed.
    """
    if failed:
        return FAILED
    return UNCHECKED if not_run else PASSED
