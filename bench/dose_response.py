"""Dose-response fitting on simulated 384-well plates with known IC50s.

Simulation (issue #20): per plate 32 compounds (rows A-P, columns 3-12 and 13-22), 10
concentrations in 3-fold steps from 30 µM; true IC50 log-uniform in 1 nM-30 µM, Hill slope uniform
in 0.8-1.5, plateaus 0 and 100 %; 32 neutral (high) controls in columns 1 and 23, 32 inhibitor (low)
controls in columns 2 and 24; Gaussian noise with SD 5 % of the control window on every well; 3 %
of all wells (controls included) are outliers displaced by 30-80 % of the window either way; a mild
edge effect: the signal of the outer rows and columns is 3 % lower.

Each plate goes through the same code as an upload (``lab_sync.plates.analyse.analyse_plates``:
control QC, normalisation, outlier masking, 4PL/3PL fit, Wald CI, class). A curve is truly
"complete" when its true IC50 lies at least one dilution step inside the tested range, "incomplete"
when it is above that, "below_range" when below. Printed: |ΔpIC50| (median, 90th percentile) on
truly complete curves, the share of classes right, the 95 % CI coverage, and fits per second on
one core (BLAS threads pinned to 1; fitting + classing only, and the whole analysis).

Usage: python bench/dose_response.py [--plates 40] [--seed 0]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab_sync.plates.analyse import analyse_plates, fit_curve_wells  # noqa: E402
from lab_sync.plates.plate_reader import WellRecord  # noqa: E402
from lab_sync.plates.settings import PlateSettings  # noqa: E402
from lab_sync.plates.wells import PLATE_384, well_name  # noqa: E402

HIGH, LOW = 50000.0, 5000.0
CONCS_NM = np.array([30000.0 / 3 ** k for k in range(10)])


def simulate_plate(plate_no: int, rng: np.random.Generator) -> tuple[list[WellRecord], dict]:
    """One plate's wells and the truth per compound id."""
    window = HIGH - LOW
    wells, truth = [], {}

    def add(r, c, wtype, expected, cid="", conc=None):
        s = expected + rng.normal(0, 0.05 * window)
        if rng.random() < 0.03:
            s += rng.choice([-1, 1]) * rng.uniform(0.3, 0.8) * window
        if PLATE_384.is_edge(r, c):
            s *= 0.97
        wells.append(WellRecord(f"P{plate_no:03d}", well_name(r, c), r, c, wtype, float(s), len(wells) + 2,
                                compound_id=cid, conc_nm=conc, assay_id="SIM"))

    for r in range(16):
        for c in (0, 22):
            add(r, c, "high", HIGH)
        for c in (1, 23):
            add(r, c, "low", LOW)
        for half, start in enumerate((2, 12)):
            cid = f"P{plate_no:03d}-{r:02d}{half}"
            log_ic50 = rng.uniform(math.log10(1.0), math.log10(30000.0))
            hill = rng.uniform(0.8, 1.5)
            truth[cid] = (log_ic50, hill)
            for k, conc in enumerate(CONCS_NM):
                inh = 1.0 / (1.0 + 10 ** (hill * (log_ic50 - math.log10(conc))))
                add(r, start + k, "sample", HIGH - window * inh, cid, float(conc))
    return wells, truth


def true_class(log_ic50: float) -> str:
    step = math.log10(3.0)
    lo, hi = math.log10(CONCS_NM.min()), math.log10(CONCS_NM.max())
    if log_ic50 > hi - step:
        return "incomplete"
    if log_ic50 < lo + step:
        return "below_range"
    return "complete"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plates", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    settings = PlateSettings()
    plates = [simulate_plate(i, rng) for i in range(args.plates)]

    t0 = time.process_time()
    analyses = [analyse_plates(w, settings) for w, _ in plates]
    t_all = time.process_time() - t0
    curves = [c for a in analyses for c in a.curves]
    # Fitting + classing alone, on the same normalised wells (masks from the first pass cleared).
    for c in curves:
        for w in c.wells:
            w.masked, w.mask_reason = False, ""
    t0 = time.process_time()
    for c in curves:
        fit_curve_wells(c.wells, settings)
    t_fit = time.process_time() - t0

    truth = {cid: t for _, tr in plates for cid, t in tr.items()}
    z = [p.qc.z_prime for a in analyses for p in a.plates]
    errs, errs_called, covered, right = [], [], [], 0
    confusion: Counter = Counter()
    for c in curves:
        log_true, _ = truth[c.compound_id]
        tc, pc = true_class(log_true), c.call.curve_class
        confusion[(tc, pc)] += 1
        right += tc == pc
        if tc == "complete":
            errs.append(abs(c.fit.log_ic50 - log_true))
            if pc == "complete":
                errs_called.append(abs(c.fit.log_ic50 - log_true))
                covered.append(c.fit.ci_low_nm <= 10 ** log_true <= c.fit.ci_high_nm)
    errs, errs_called = np.array(errs), np.array(errs_called)
    n = len(curves)
    print(f"plates {args.plates} (seed {args.seed}), curves {n}; plate Z' median {np.median(z):.2f} "
          f"(min {min(z):.2f}); plates failing Z' < {settings.z_prime_min}: "
          f"{sum(p.status == 'failed' for a in analyses for p in a.plates)}")
    print(f"|ΔpIC50| on truly complete curves (n={len(errs)}): median {np.median(errs):.3f}, "
          f"90th percentile {np.percentile(errs, 90):.3f}   (target median <= 0.1)")
    print(f"  of those also called complete (n={len(errs_called)}): median {np.median(errs_called):.3f}, "
          f"90th percentile {np.percentile(errs_called, 90):.3f}; 95 % Wald CI covers the true IC50 in "
          f"{100 * np.mean(covered):.1f} %")
    print(f"curve classes right: {right}/{n} = {100 * right / n:.1f} %   (target >= 95 %)")
    print("  confusion (true -> called): " + "; ".join(f"{t} -> {p}: {k}" for (t, p), k in sorted(confusion.items())))
    masked = sum(w.masked for c in curves for w in c.wells)
    print(f"  wells masked as outliers in the final curves: {masked} of {sum(len(c.wells) for c in curves)}")
    print(f"fits per second on one core (CPU time): {n / t_fit:.0f} fit+class   (target >= 100); "
          f"{n / t_all:.0f} for the whole plate analysis (QC, normalisation, fit, class)")
    print("bootstrap CIs: not implemented (Wald CIs only)")


if __name__ == "__main__":
    main()
