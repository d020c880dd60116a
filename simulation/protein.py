"""Prepare a protein PDB with PDBFixer, cached on disk by content hash.

Preparation adds missing heavy atoms and hydrogens at the requested pH and
drops heterogens (ligands, ions) and, unless asked, crystal waters. Missing
loops are *not* built: a modelled loop far from the pocket adds atoms and
uncertainty, and the pocket model never sees it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openmm.app as app
import openmm.unit as unit

from moltwin.errors import BadInputError, SimulationError
from simulation.reproducible import fixed_python_random

log = logging.getLogger(__name__)

_CAPS = {"ACE", "NME"}

_PREP_VERSION = "2"  # bump when the preparation recipe changes (invalidates the cache)


@dataclass(slots=True)
class PreparedProtein:
    """A protein ready for the force field.

    Attributes
    ----------
    topology
        OpenMM topology with hydrogens.
    positions_nm
        Atom coordinates, shape (n_atoms, 3), nanometres.
    path
        The cached prepared PDB file.
    sha256
        Hash of the *input* file the protein was prepared from.
    """

    topology: app.Topology
    positions_nm: np.ndarray
    path: Path
    sha256: str

    def heavy_atom_positions_nm(self) -> np.ndarray:
        """Coordinates of the non-hydrogen atoms (nm)."""
        heavy = [a.index for a in self.topology.atoms()
                 if a.element is not None and a.element.symbol != "H"]
        return self.positions_nm[heavy]


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def protein_cache_key(pdb_sha256: str, protonation_ph: float, keep_water: bool) -> str:
    """Cache key of a prepared protein: input hash + preparation settings."""
    import pdbfixer

    payload = json.dumps({"input": pdb_sha256, "ph": round(protonation_ph, 3),
                          "water": keep_water, "recipe": _PREP_VERSION,
                          "pdbfixer": getattr(pdbfixer, "__version__", "?")}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _remove_heterogens(fixer, keep_water: bool) -> None:
    """Drop ligands and ions but keep ACE/NME caps (PDBFixer would drop them too)."""
    from pdbfixer.pdbfixer import dnaResidues, proteinResidues, rnaResidues

    keep = set(proteinResidues) | set(dnaResidues) | set(rnaResidues) | _CAPS
    if keep_water:
        keep.add("HOH")
    doomed = [r for r in fixer.topology.residues() if r.name not in keep]
    if doomed:
        modeller = app.Modeller(fixer.topology, fixer.positions)
        modeller.delete(doomed)
        fixer.topology, fixer.positions = modeller.topology, modeller.positions


def _fix_protein(pdb_path: Path, protonation_ph: float, keep_water: bool):
    from pdbfixer import PDBFixer

    from pdbfixer.pdbfixer import proteinResidues

    fixer = PDBFixer(filename=str(pdb_path))
    if not any(r.name in proteinResidues for r in fixer.topology.residues()):
        raise SimulationError("no_protein", f"{pdb_path.name} holds no amino-acid residues "
                              f"({fixer.topology.getNumResidues()} residues, none standard protein)")
    fixer.findMissingResidues()
    fixer.missingResidues = {}  # do not model missing loops or termini
    fixer.findNonstandardResidues()
    fixer.replaceNonstandardResidues()
    _remove_heterogens(fixer, keep_water)
    fixer.findMissingAtoms()
    with fixed_python_random():
        fixer.addMissingAtoms()
        fixer.addMissingHydrogens(pH=protonation_ph)
    return fixer.topology, fixer.positions


def prepare_protein(pdb_path: str | Path, *, protonation_ph: float = 7.4, keep_water: bool = False,
                    cache_dir: str | Path | None = None) -> PreparedProtein:
    """Fix a protein structure with PDBFixer, or load it from the cache.

    Parameters
    ----------
    pdb_path
        Input PDB file (protein, possibly with ligands/waters, with or without H).
    protonation_ph
        pH used to choose protonation states of titratable residues.
    keep_water
        Keep crystal waters (they are dropped by default: the solvent is implicit).
    cache_dir
        Directory of prepared proteins; the file name is the cache key. None
        prepares without caching (the result then lives in memory only).

    Returns
    -------
    PreparedProtein

    Raises
    ------
    moltwin.errors.BadInputError
        The file is missing or PDBFixer cannot read it.
    moltwin.errors.SimulationError
        ``no_protein``: the file reads but holds no amino-acid residues (a
        per-ligand failure, since each request names its own protein).
    """
    pdb_path = Path(pdb_path)
    if not pdb_path.is_file():
        raise BadInputError("protein PDB file not found", file=str(pdb_path))
    sha = file_sha256(pdb_path)
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / f"protein_{protein_cache_key(sha, protonation_ph, keep_water)}.pdb"
        if cached.is_file():
            pdb = app.PDBFile(str(cached))
            return PreparedProtein(pdb.topology, _to_nm(pdb.positions), cached, sha)
    try:
        topology, positions = _fix_protein(pdb_path, protonation_ph, keep_water)
    except SimulationError:
        raise
    except Exception as exc:  # PDBFixer raises plain Exceptions on malformed input
        raise BadInputError(f"PDBFixer could not prepare the protein: {exc}",
                            file=str(pdb_path)) from exc
    log.info("prepared protein %s: %d atoms", pdb_path.name, topology.getNumAtoms())
    if cached is None:
        return PreparedProtein(topology, _to_nm(positions), pdb_path, sha)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        app.PDBFile.writeFile(topology, positions, handle, keepIds=True)
    os.replace(tmp, cached)  # atomic: parallel workers never read a half-written file
    pdb = app.PDBFile(str(cached))
    return PreparedProtein(pdb.topology, _to_nm(pdb.positions), cached, sha)


def _to_nm(positions) -> np.ndarray:
    return np.asarray(positions.value_in_unit(unit.nanometer), dtype=float)
