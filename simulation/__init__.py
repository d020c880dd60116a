"""Protein–ligand MD in OpenMM: pose, parametrize, simulate, score.

Entry point: :func:`simulation.run.simulate_ligand`. Modules, one job each:
``settings`` (SimulationSettings), ``platform`` (probe CUDA/OpenCL/CPU),
``protein`` (PDBFixer preparation, cached), ``pocket`` (capped pocket model
and boundary restraints), ``pose`` (MCS posing on reference ligands),
``ligand`` (NAGL/AM1-BCC/MMFF94 charges + GAFF2), ``system`` (amber14 +
GAFF2 + native OBC2 GB), ``scoring`` (per-frame MM/GBSA, RMSD, contacts),
``md`` (minimize, equilibrate, produce, checkpoint), ``analyse`` (summaries).
Nothing here imports Prefect; heavy toolkits are imported lazily.
"""
