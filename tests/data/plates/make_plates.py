"""Regenerate the plate test files (deterministic). Run: python tests/data/plates/make_plates.py

Signals follow a luminescence kinase assay: neutral (DMSO) controls ~52,000 RLU, inhibitor controls
~4,000 RLU, samples 10 points in 3-fold steps from 30 µM. The 16 Tyk2 ligands use their published
Ki (data/tyk2/tyk2_measurements.csv, Wang et al. JACS 2015) as the simulated IC50 with Hill slope 1.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
TYK2 = HERE.parents[2] / "data" / "tyk2" / "tyk2_measurements.csv"
HIGH, LOW = 52000.0, 4000.0
CONCS_UM = [30 / 3 ** k for k in range(10)]


def signal(ic50_nm, conc_um, rng, sd_frac=0.03, hill=1.0):
    inh = 1 / (1 + (ic50_nm / (conc_um * 1000)) ** hill)
    return HIGH - (HIGH - LOW) * inh + rng.normal(0, sd_frac * (HIGH - LOW))


def wname(r, c, pad=True):
    return f"{chr(65 + r)}{c + 1:02d}" if pad else f"{chr(65 + r)}{c + 1}"


def tyk2():
    with TYK2.open() as fh:
        return [(r["compound_id"], r["smiles"], float(r["value"])) for r in csv.DictReader(fh)]


def plate384(seed, outlier=None):
    """{(row, col): (type, cid, smiles, conc_um, signal)} for one 384-well plate."""
    rng = np.random.default_rng(seed)
    wells = {}
    for r, (cid, smi, ki) in enumerate(tyk2()):
        for c in (0, 22):
            wells[(r, c)] = ("high control", "", "", "", HIGH + rng.normal(0, 0.03 * (HIGH - LOW)))
        for c in (1, 23):
            wells[(r, c)] = ("low control", "", "", "", LOW + rng.normal(0, 0.03 * (HIGH - LOW)))
        for start in (2, 12):
            for k, conc in enumerate(CONCS_UM):
                wells[(r, start + k)] = ("sample", cid, smi, conc, signal(ki, conc, rng))
    if outlier:
        t, cid, smi, conc, s = wells[outlier]
        wells[outlier] = (t, cid, smi, conc, s - 30000)  # a bubble / dispensing error
    return wells


def write_long(path, plate_id, wells, assay="TYK2-LUMI", pad=True):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Plate ID", "Well", "Well Type", "Compound ID", "SMILES", "Conc (uM)", "RLU", "Assay",
                    "Read Time", "Operator"])
        for (r, c), (t, cid, smi, conc, s) in sorted(wells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            w.writerow([plate_id, wname(r, c, pad), t, cid, smi, f"{conc:.6g}" if conc != "" else "",
                        f"{s:.0f}", assay, "2026-11-30T09:12", "akim"])


def write_grid(path, map_path, plate_id, wells):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["EnVision export", "Luminescence 700nm"])
        w.writerow([f"Plate: {plate_id}"])
        w.writerow([""] + [str(c + 1) for c in range(24)])
        for r in range(16):
            w.writerow([chr(65 + r)] + [f"{wells[(r, c)][4]:.0f}" if (r, c) in wells else "" for c in range(24)])
    with map_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["well", "type", "compound", "smiles", "concentration", "units", "assay_id"])
        for (r, c), (t, cid, smi, conc, _) in sorted(wells.items()):
            w.writerow([wname(r, c, pad=False), t, cid, smi, f"{conc:.6g}" if conc != "" else "",
                        "uM" if conc != "" else "", "TYK2-LUMI"])


def plate96(seed, control_sd, compounds, extra_rows=()):
    rng = np.random.default_rng(seed)
    wells = {}
    for r in range(8):
        wells[(r, 0)] = ("neutral", "", "", "", HIGH + rng.normal(0, control_sd * (HIGH - LOW)))
        wells[(r, 11)] = ("inhibitor", "", "", "", LOW + rng.normal(0, control_sd * (HIGH - LOW)))
    for r, (cid, smi, ic50) in enumerate(compounds):
        for k, conc in enumerate(CONCS_UM):
            wells[(r, 1 + k)] = ("sample", cid, smi, conc, signal(ic50, conc, rng))
    return wells


if __name__ == "__main__":
    write_long(HERE / "plate384_long.csv", "PLT-0384-01", plate384(1, outlier=(2, 6)))
    write_grid(HERE / "plate384_grid.csv", HERE / "plate384_map.csv", "PLT-0384-02", plate384(2))
    t = tyk2()
    write_long(HERE / "plate96_failing_controls.csv", "PLT-0096-F",
               plate96(3, 0.12, [(cid, smi, ki) for cid, smi, ki in t[:4]]))
    inactive = ("inact_01", "O=C(Nc1ccncc1)c1ccccc1", 1e7)
    wells = plate96(4, 0.03, [inactive, t[0], t[1]])
    write_long(HERE / "plate96_inactive.csv", "PLT-0096-I", wells, pad=False)
    with (HERE / "plate96_inactive.csv").open("a", newline="") as fh:
        w = csv.writer(fh)
        # Bad wells a chemist can act on: an unknown well, a zero concentration, a 3-point compound.
        w.writerow(["PLT-0096-I", "Q5", "sample", "jmc_30", "", "1", "30000", "TYK2-LUMI", "", "akim"])
        w.writerow(["PLT-0096-I", "D2", "sample", "jmc_30", "", "0", "30000", "TYK2-LUMI", "", "akim"])
        for k, col in enumerate((3, 4, 5)):
            w.writerow(["PLT-0096-I", f"E{col}", "sample", "ejm_50", "", f"{CONCS_UM[k]:.6g}", "20000",
                        "TYK2-LUMI", "", "akim"])
