"""How robust is ligand parametrization? MiniDrugBank through ``parametrize_ligand``.

Every molecule of ``data/minidrugbank/MiniDrugBank.sdf`` (371 drugs with 3D
coordinates and hydrogens, from openmmforcefields) goes through the same
call the simulation stage makes: charges by NAGL, falling back to AM1-BCC
via sqm and then MMFF94, and GAFF2 typing by antechamber. Printed: the share
parametrized, the share that needed a fallback charge method, the median and
90th-percentile seconds per molecule, and every failure with its reason.
Target: at least 98 % parametrized.

    .venv/bin/python bench/parametrize_robustness.py            # all 371
    .venv/bin/python bench/parametrize_robustness.py --quick    # first 20
"""

from __future__ import annotations

import argparse
import collections
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SDF = REPO / "data" / "minidrugbank" / "MiniDrugBank.sdf"
TARGET_SUCCESS = 0.98


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 20 molecules only")
    parser.add_argument("--limit", type=int, default=None, help="first N molecules")
    parser.add_argument("--sqm-timeout", type=float, default=120.0, help="AM1-BCC time limit, s")
    parser.add_argument("--csv", type=Path, default=None, help="per-molecule outcome table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from rdkit import Chem

    from moltwin.errors import SimulationError
    from simulation.ligand import parametrize_ligand

    limit = 20 if args.quick else args.limit
    mols = list(Chem.SDMolSupplier(str(SDF), removeHs=False))[:limit]
    rows = []
    for index, mol in enumerate(mols, start=1):
        name = mol.GetProp("_Name") if mol is not None and mol.HasProp("_Name") else f"record{index}"
        tic = time.perf_counter()
        row = {"index": index, "name": name, "status": "failed", "charge_method": "",
               "reason_code": "", "message": "", "n_atoms": mol.GetNumAtoms() if mol else 0}
        try:
            if mol is None:
                raise SimulationError("unreadable_record", "RDKit could not read the record")
            params = parametrize_ligand(mol, sqm_timeout_s=args.sqm_timeout)
            row.update(status="ok", charge_method=params.charge_method,
                       message="; ".join(params.notes)[:300])
        except SimulationError as exc:
            row.update(reason_code=exc.reason_code, message=str(exc)[:300])
        except Exception as exc:  # the benchmark must see every failure, not stop at one
            row.update(reason_code="unexpected_error", message=f"{type(exc).__name__}: {exc}"[:300])
        row["seconds"] = time.perf_counter() - tic
        rows.append(row)
        print(f"[{index}/{len(mols)}] {name}: {row['status']} {row['charge_method'] or row['reason_code']}"
              f" ({row['seconds']:.1f} s)", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
    ok = table["status"] == "ok"
    fallback = ok & (table["charge_method"] != "nagl")
    seconds = table["seconds"].to_numpy()
    print(f"\nMiniDrugBank parametrization ({len(table)} molecules, {platform.processor() or 'cpu'}, "
          f"{platform.python_version()}):")
    print(f"  parametrized        {ok.mean():7.1%}  ({ok.sum()}/{len(table)}; target >= {TARGET_SUCCESS:.0%})")
    print(f"  needed a fallback   {fallback.mean():7.1%}  "
          f"{dict(collections.Counter(table.loc[ok, 'charge_method']))}")
    print(f"  seconds / molecule  median {np.median(seconds):.2f}, "
          f"90th percentile {np.percentile(seconds, 90):.2f}, total {seconds.sum():.0f}")
    for row in table[~ok].itertuples():
        print(f"  FAILED {row.name}: {row.reason_code}: {row.message}")
    return 0 if ok.mean() >= TARGET_SUCCESS else 1


if __name__ == "__main__":
    raise SystemExit(main())
