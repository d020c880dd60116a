"""Protein–ligand MD in OpenMM: pose, parametrize, simulate, score.

Entry points: :func:`simulation.run.simulate_ligand` (one ligand) and
:func:`simulation.parallel.simulate_batch` (many; concurrent on a GPU).
Modules, one job each: ``settings`` (SimulationSettings), ``platform`` (probe
CUDA/OpenCL/CPU, fallback when one fails), ``protein`` (PDBFixer preparation,
cached), ``pocket`` (capped pocket model and boundary restraints), ``pose``
(MCS posing on reference ligands, provided poses), ``dock`` (AutoDock Vina),
``protonate`` (one state at pH 7.4 from pKa rules, ``pka_rules``), ``plausibility`` (PoseBusters),
``placement`` (choose and check a pose), ``nagl`` (NAGL charges with a time
limit), ``ligand`` (NAGL/AM1-BCC/MMFF94 charges + GAFF2), ``system`` (amber14
+ GAFF2 + native OBC2 GB), ``explicit`` (TIP3P box, PME, NaCl, barostat),
``scoring`` (per-frame MM/GBSA, RMSD, contacts), ``md`` (minimize,
equilibrate, produce, checkpoint), ``analyse`` (summaries), ``parallel``
(batches). Nothing here imports Prefect; heavy toolkits are imported lazily.
See docs/simulation.md.
"""
