"""From validated wells to plate QC and classified curves (no database; shared by upload and re-fit)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lab_sync.plates.curve_class import CurveCall, classify_curve
from lab_sync.plates.curve_fit import CurveFit, fit_dose_response
from lab_sync.plates.plate_qc import PlateQC, percent_inhibition, plate_quality
from lab_sync.plates.plate_reader import WellRecord
from lab_sync.plates.settings import PlateSettings
from lab_sync.validate import RowError


@dataclass(slots=True)
class WellResult:
    """A stored well: its raw signal, % inhibition and whether (why) it was masked."""

    well: str
    well_type: str
    compound_id: str
    conc_nm: float | None
    signal: float
    pct_inhibition: float | None
    source_row: int
    masked: bool = False
    mask_reason: str = ""

    def point(self) -> dict:
        return {"well": self.well, "conc_nm": self.conc_nm, "pct_inhibition": self.pct_inhibition,
                "masked": self.masked, "reason": self.mask_reason}


@dataclass(slots=True)
class PlateResult:
    plate_id: str
    assay_id: str
    qc: PlateQC | None
    status: str              # passed | failed | accepted | no_controls
    wells: list[WellResult]

    @property
    def usable(self) -> bool:
        return self.status in {"passed", "accepted"}

    def summary(self) -> dict:
        qc = self.qc.to_dict() if self.qc else {}
        return {"plate_id": self.plate_id, "assay_id": self.assay_id, "status": self.status,
                "z_prime": qc.get("z_prime"), "signal_window": qc.get("signal_window"),
                "n_wells": qc.get("n_wells"), "masked_controls": qc.get("masked_controls", [])}


@dataclass(slots=True)
class CurveResult:
    """One compound's curve on one plate, with the wells behind it."""

    plate_id: str
    compound_id: str
    smiles: str
    assay_id: str
    fit: CurveFit
    call: CurveCall
    wells: list[WellResult]
    used: bool                # plate usable and a potency claimed
    first_row: int
    read_time: str = ""
    operator: str = ""

    def summary(self) -> dict:
        p = None
        if self.call.ic50_nm:
            p = round(9 - float(np.log10(self.call.ic50_nm)), 3)
        return {"plate_id": self.plate_id, "compound_id": self.compound_id, "assay_id": self.assay_id,
                "curve_class": self.call.curve_class, "flags": self.call.flags, "qualifier": self.call.qualifier,
                "ic50_nm": self.call.ic50_nm, "p_ic50": p, "fitted_ic50_nm": self.fit.ic50_nm,
                "ci_low_nm": self.fit.ci_low_nm, "ci_high_nm": self.fit.ci_high_nm, "hill": self.fit.hill,
                "top": self.fit.top, "bottom": self.fit.bottom, "r2": self.fit.r2, "model": self.fit.model,
                "used": self.used, "masked_wells": [(w.well, w.mask_reason) for w in self.wells if w.masked]}


@dataclass(slots=True)
class PlateAnalysis:
    plates: list[PlateResult] = field(default_factory=list)
    curves: list[CurveResult] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def fit_curve_wells(wells: list[WellResult], settings: PlateSettings) -> tuple[CurveFit, CurveCall]:
    """Fit the unmasked wells (wells masked beforehand stay masked); record new outlier masks on the wells."""
    use = [w for w in wells if not w.masked]
    fit = fit_dose_response([w.conc_nm for w in use], [w.pct_inhibition for w in use], settings)
    for i, reason in fit.masked:
        use[i].masked, use[i].mask_reason = True, reason
    return fit, classify_curve(fit, settings)


def analyse_plates(wells: list[WellRecord], settings: PlateSettings, *, default_assay: str | None = None,
                   accept: set[str] | None = None, layouts: dict[str, int] | None = None) -> PlateAnalysis:
    """Plate QC, normalisation and one fitted, classified curve per compound and plate."""
    out = PlateAnalysis()
    by_plate: dict[str, list[WellRecord]] = {}
    for w in wells:
        by_plate.setdefault(w.plate_id, []).append(w)
    for plate_id, pw in by_plate.items():
        assay = next((w.assay_id for w in pw if w.assay_id), "") or default_assay or ""
        if not assay:
            out.errors.append(RowError(pw[0].source_row, "assay_id", "", f"plate {plate_id} has no assay id "
                                       "(add an assay column or pass --assay); its wells are left out"))
            continue
        qc = plate_quality(plate_id, pw, settings, (layouts or {}).get(plate_id))
        if qc is None:
            missing = [n for n, t in (("high (neutral)", "high"), ("low (inhibitor)", "low"))
                       if not any(w.well_type == t for w in pw)]
            out.errors.append(RowError(pw[0].source_row, "well_type", "", f"plate {plate_id} has no "
                                       f"{' and no '.join(missing)} control wells, so its signals cannot be "
                                       f"normalised; its {len(pw)} wells are left out"))
            continue
        if qc.high_mean == qc.low_mean:
            out.errors.append(RowError(pw[0].source_row, "signal", "", f"plate {plate_id}: high and low controls "
                                       "have the same mean signal, so nothing can be normalised; its wells are "
                                       "left out"))
            continue
        status = "passed" if qc.passed else ("accepted" if plate_id in (accept or set()) else "failed")
        masked_controls = dict(qc.masked_controls)
        results = [WellResult(w.well, w.well_type, w.compound_id, w.conc_nm, w.signal,
                              float(percent_inhibition(w.signal, qc)), w.source_row,
                              w.well in masked_controls, masked_controls.get(w.well, "")) for w in pw]
        out.plates.append(PlateResult(plate_id, assay, qc, status, results))
        samples: dict[str, list[tuple[WellRecord, WellResult]]] = {}
        for w, r in zip(pw, results):
            if w.well_type == "sample":
                samples.setdefault(w.compound_id, []).append((w, r))
        for cid, pairs in samples.items():
            n_conc = len({round(float(np.log10(w.conc_nm)), 6) for w, _ in pairs})
            if n_conc < settings.min_concentrations:
                out.errors.extend(RowError(w.source_row, "concentration", f"{w.conc_nm:g} nM",
                                           f"well {w.well}: compound {cid} on plate {plate_id} has {n_conc} "
                                           f"concentration(s); a curve needs at least "
                                           f"{settings.min_concentrations} (its wells are left out)") for w, _ in pairs)
                continue
            curve_wells = [r for _, r in pairs]
            fit, call = fit_curve_wells(curve_wells, settings)
            first = pairs[0][0]
            out.curves.append(CurveResult(plate_id, cid, next((w.smiles for w, _ in pairs if w.smiles), ""),
                                          assay, fit, call, curve_wells,
                                          status in {"passed", "accepted"} and call.ic50_nm is not None,
                                          first.source_row, first.read_time, first.operator))
    return out
