"""moltwin simulate: OpenMM runs of protein-ligand complexes from files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from interfaces.cli import JsonOpt, app, emit, fail


@app.command()
def simulate(protein: Path = typer.Option(..., "--protein", help="Protein PDB file."),
             ligands: Path = typer.Option(..., "--ligands", help="Ligands: SDF with 3D poses, or .smi/.csv with SMILES."),
             reference_ligand: Optional[Path] = typer.Option(None, "--reference-ligand", help="Posed reference ligand(s) SDF: MCS templates and docking box for SMILES input."),
             length_ps: Optional[float] = typer.Option(None, "--length-ps", help="Production length in ps."),
             platform: str = typer.Option("auto", "--platform", help="auto|CUDA|OpenCL|CPU|Reference"),
             mode: str = typer.Option("implicit", "--mode", help="implicit (GB, pocket on CPU) | explicit (TIP3P box, whole protein)."),
             pose_method: str = typer.Option("auto", "--pose-method", help="SMILES input: auto (MCS, else Vina) | mcs | dock."),
             out: Path = typer.Option(..., "--out", help="Output folder."),
             as_json: bool = JsonOpt) -> None:
    """Simulate protein–ligand complexes with OpenMM; one results row per ligand (failures included)."""
    try:
        from interfaces.cli.simulate_cmd import simulate_files
        from moltwin import progress

        with progress.to_stderr("moltwin simulate"):
            table = simulate_files(protein, ligands, reference_ligand, length_ps, platform, out,
                                   mode=mode, pose_method=pose_method)
    except Exception as exc:  # noqa: BLE001
        fail(exc)
        return
    ok = int((table["status"] == "ok").sum())
    emit(table.to_dict("records"), as_json, f"{ok}/{len(table)} ligands simulated; results in {out}/simulations.csv")
    if ok == 0:
        raise typer.Exit(1)
