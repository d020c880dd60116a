"""Per-plate quality: control statistics, Z'-factor, signal window, normalisation to % inhibition.

High controls are the neutral wells (no inhibition, 0 %), low controls the full-inhibition wells
(100 %). % inhibition = 100 · (mean high − signal) / (mean high − mean low), so it works whichever
way the signal runs. Z' = 1 − 3 (SD high + SD low) / |mean high − mean low| (Zhang et al. 1999);
signal window = (|mean high − mean low| − 3 (SD high + SD low)) / SD high (Iversen et al. 2006).
A control well far from its controls' median is masked (with its reason) before the statistics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from lab_sync.plates.plate_reader import WellRecord
from lab_sync.plates.settings import PlateSettings
from lab_sync.plates.wells import LAYOUTS, layout_for
from lab_sync.validate import RowError


@dataclass(slots=True)
class PlateQC:
    """Quality figures of one plate."""

    plate_id: str
    n_wells: int              # plate format, 96 or 384
    n_high: int
    n_low: int
    high_mean: float
    high_sd: float
    low_mean: float
    low_sd: float
    z_prime: float
    signal_window: float
    signal_to_background: float
    passed: bool              # z_prime >= threshold
    masked_controls: list[tuple[str, str]] = field(default_factory=list)  # (well, reason)

    def to_dict(self) -> dict:
        return asdict(self)


def check_plate_wells(wells: list[WellRecord], layouts: dict[str, int] | None = None
                      ) -> tuple[list[WellRecord], list[RowError]]:
    """Drop wells named twice on a plate (the second is reported) and wells outside the plate's format."""
    kept, errors, seen = [], [], {}
    for w in wells:
        key = (w.plate_id, w.well)
        if key in seen:
            errors.append(RowError(w.source_row, "well", w.well, f"well {w.well} of plate {w.plate_id} "
                                   f"appears twice (first on line {seen[key]}); the second is left out"))
            continue
        seen[key] = w.source_row
        fmt = (layouts or {}).get(w.plate_id)
        if fmt and not LAYOUTS[fmt].contains(w.row, w.col):
            errors.append(RowError(w.source_row, "well", w.well, f"unknown well {w.well} on the "
                                   f"{fmt}-well plate {w.plate_id}"))
            continue
        kept.append(w)
    return kept, errors


def _mask_controls(values: np.ndarray, wells: list[str], limit_sd: float) -> tuple[np.ndarray, list[tuple[str, str]]]:
    keep = np.ones(len(values), bool)
    if len(values) < 4:
        return keep, []
    med = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - med)))
    if mad <= 0:
        return keep, []
    dev = np.abs(values - med) / mad
    order = np.argsort(-dev)[: max(1, len(values) // 5)]  # never more than a fifth of the controls
    masked = []
    for i in order:
        if dev[i] > limit_sd:
            keep[i] = False
            masked.append((wells[i], f"control outlier: {dev[i]:.1f} robust SDs from the median of its controls"))
    return keep, masked


def plate_quality(plate_id: str, wells: list[WellRecord], settings: PlateSettings,
                  n_wells: int | None = None) -> PlateQC | None:
    """Z', signal window and control means of one plate; None when it lacks high or low controls."""
    high = [w for w in wells if w.well_type == "high"]
    low = [w for w in wells if w.well_type == "low"]
    if not high or not low:
        return None
    h = np.array([w.signal for w in high])
    lo = np.array([w.signal for w in low])
    kh, mh = _mask_controls(h, [w.well for w in high], settings.control_outlier_robust_sd)
    kl, ml = _mask_controls(lo, [w.well for w in low], settings.control_outlier_robust_sd)
    h, lo = h[kh], lo[kl]
    h_mean, l_mean = float(h.mean()), float(lo.mean())
    h_sd = float(h.std(ddof=1)) if len(h) > 1 else 0.0
    l_sd = float(lo.std(ddof=1)) if len(lo) > 1 else 0.0
    window = abs(h_mean - l_mean)
    z = 1.0 - 3.0 * (h_sd + l_sd) / window if window > 0 else float("-inf")
    sw = (window - 3.0 * (h_sd + l_sd)) / h_sd if h_sd > 0 else float("inf")
    sb = max(h_mean, l_mean) / min(h_mean, l_mean) if min(h_mean, l_mean) > 0 else float("inf")
    fmt = n_wells or layout_for([(w.row, w.col) for w in wells]).n_wells
    return PlateQC(plate_id, fmt, int(len(h)), int(len(lo)), h_mean, h_sd, l_mean, l_sd, float(z), float(sw),
                   float(sb), bool(z >= settings.z_prime_min), mh + ml)


def percent_inhibition(signal: np.ndarray | float, qc: PlateQC) -> np.ndarray | float:
    """Signal -> % inhibition from the plate's high (0 %) and low (100 %) control means."""
    return 100.0 * (qc.high_mean - np.asarray(signal, float)) / (qc.high_mean - qc.low_mean)
