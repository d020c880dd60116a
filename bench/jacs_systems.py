"""The JACS benchmark systems (Wang et al., JACS 2015) shipped in openmmforcefields, for the physics benches.

Each target folder under ``data/perses_jacs_systems`` holds the prepared protein and the posed ligands
with their experimental binding free energies (SD tag ``r_user_dG.exp``).
"""

from __future__ import annotations

from pathlib import Path

#: target -> (protein PDB, posed ligands SDF) inside its folder.
TARGETS = {"tyk2": ("Tyk2_protein.pdb", "Tyk2_ligands_shifted.sdf"),
           "mcl1": ("MCL1_protein.pdb", "MCL1_ligands.sdf"),
           "ptp1b": ("PTP1B_protein.pdb", "PTP1B_ligands.sdf"),
           "bace": ("Bace_protein.pdb", "Bace_ligands_shifted.sdf"),
           "cdk2": ("CDK2_protein.pdb", "CDK2_ligands_shifted.sdf"),
           "jnk1": ("Jnk1_protein.pdb", "Jnk1_ligands.sdf"),
           "p38a": ("p38_protein.pdb", "p38_ligands_shifted.sdf"),
           "thrombin": ("Thrombin_protein.pdb", "Thrombin_ligands.sdf")}


def jacs_dir() -> Path:
    """openmmforcefields' copy of the JACS benchmark systems."""
    import openmmforcefields

    return Path(openmmforcefields.__file__).parent / "data" / "perses_jacs_systems"
