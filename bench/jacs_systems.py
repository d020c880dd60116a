"""The JACS benchmark systems (Wang et al., JACS 2015) shipped in openmmforcefields, for the physics benches.

Each target folder under ``data/perses_jacs_systems`` holds the prepared protein and the posed ligands
with their experimental binding free energies (SD tag ``r_user_dG.exp``).
"""

from __future__ import annotations

from pathlib import Path

#: target -> (protein PDB, posed ligands SDF) inside its folder.
TARGETS = {"tyk2": ("Tyk2_protein.pdb", "Tyk2_ligands_shifted.sdf"),
           "mcl1": ("MCL1_protein.pdb", "MCL1_ligands.sdf"),
           "ptp1b": ("PTP1B_protein.pdb", "PTP1B_ligands.sdf")}


def jacs_dir() -> Path:
    """openmmforcefields' copy of the JACS benchmark systems."""
    import openmmforcefields

    return Path(openmmforcefields.__file__).parent / "data" / "perses_jacs_systems"
