"""``moltwin simulate``: simulate every ligand of a file against one protein.

SDF input is taken as ready-made poses (one record per ligand); SMILES/CSV input is
posed on the reference ligand(s) by maximum common substructure or docked with Vina
(``pose_method``). One results row per ligand, failures included, written to
``<out>/simulations.csv`` and ``.parquet``. On a GPU several ligands run at once
(:func:`simulation.parallel.simulate_batch`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from moltwin.errors import BadInputError
from moltwin.csv_export import write_safe_csv


def _requests_from_sdf(ligands: Path, protein: Path, pose_dir: Path) -> tuple[list, list[dict]]:
    from rdkit import Chem

    from simulation.run import SimulationRequest

    requests, failures = [], []
    pose_dir.mkdir(parents=True, exist_ok=True)
    supplier = Chem.SDMolSupplier(str(ligands), removeHs=False)
    for index, mol in enumerate(supplier, start=1):
        name = f"record{index}"
        if mol is None:
            failures.append({"compound_id": name, "status": "failed", "reason_code": "unparsable_record",
                             "message": f"{ligands.name} record {index} could not be read by RDKit"})
            continue
        name = mol.GetProp("_Name").strip() if mol.HasProp("_Name") and mol.GetProp("_Name").strip() else name
        pose = pose_dir / f"ligand_{index:05d}.sdf"  # file names never come from user text
        with Chem.SDWriter(str(pose)) as writer:
            writer.write(mol)
        requests.append(SimulationRequest(compound_id=name, smiles=Chem.MolToSmiles(Chem.RemoveHs(mol)),
                                          protein_pdb=protein, pose_sdf=pose))
    return requests, failures


def simulate_files(protein: Path, ligands: Path, reference: Path | None, length_ps: float | None,
                   platform: str, out: Path, *, mode: str = "implicit",
                   pose_method: str = "auto") -> pd.DataFrame:
    """Simulate each ligand in ``ligands`` against ``protein``; returns the results table.

    ``mode="explicit"`` simulates the whole protein in a TIP3P box (see
    :mod:`simulation.explicit`); ``pose_method`` applies to SMILES input.
    """
    from chem.io import read_molecules
    from simulation.parallel import simulate_batch
    from simulation.run import SimulationRequest
    from simulation.settings import SimulationSettings

    for path, what in ((protein, "protein"), (ligands, "ligands")):
        if not Path(path).is_file():
            raise BadInputError(f"{what} file not found", file=str(path))
    update: dict = {"platform": platform, "mode": mode, "pose_method": pose_method}
    if length_ps is not None:
        base = SimulationSettings()
        update["production_steps"] = max(1, round(length_ps * 1000 / base.timestep_fs))
        update["report_interval_steps"] = min(base.report_interval_steps, update["production_steps"])
    try:
        settings = SimulationSettings(**update)
    except ValueError as exc:
        raise BadInputError(str(exc), field="--platform/--mode/--pose-method/--length-ps") from exc
    out.mkdir(parents=True, exist_ok=True)
    if ligands.suffix.lower() in {".sdf", ".sd", ".mol"}:
        requests, rows = _requests_from_sdf(ligands, protein, out / "poses")
    else:
        if reference is None:
            raise BadInputError("SMILES input needs --reference-ligand (posed SDF) for placement",
                                file=str(ligands))
        table = pd.concat(list(read_molecules(ligands)), ignore_index=True)
        requests = [SimulationRequest(compound_id=str(r.compound_id), smiles=r.smiles, protein_pdb=protein,
                                      reference_ligands_sdf=reference) for r in table.itertuples()]
        rows = []
    from moltwin import progress

    progress.begin_items("simulate", len(requests))
    done = simulate_batch(requests, settings, out / "work",
                          on_done=lambda r: progress.item_done("simulate", f"{r.compound_id}: {r.status}"))
    rows += [record.to_dict() for record in done]
    result = pd.DataFrame(rows)
    write_safe_csv(result, out / "simulations.csv")
    result.to_parquet(out / "simulations.parquet", index=False)
    return result
