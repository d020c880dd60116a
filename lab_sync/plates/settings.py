"""Settings of plate QC, curve fitting and curve classes (one model, saved with each upload)."""

from __future__ import annotations

from pydantic import Field

from moltwin.settings_base import StrictModel


class PlateSettings(StrictModel):
    """Thresholds for plate QC, outlier masking and curve classes."""

    z_prime_min: float = Field(0.5, description="Plates with a Z'-factor below this are flagged and their "
                                                "curves not used unless the plate is accepted.")
    min_concentrations: int = Field(4, ge=3, description="Fewest distinct concentrations a curve needs.")
    outlier_robust_sd: float = Field(4.0, gt=0, description="A well is masked when its residual exceeds this "
                                                            "many robust SDs of the curve's residuals ...")
    outlier_min_pct: float = Field(20.0, ge=0, description="... and this many % inhibition.")
    max_masked_fraction: float = Field(0.2, ge=0, le=0.5, description="At most this share of a curve's "
                                                                     "wells is masked as outliers.")
    control_outlier_robust_sd: float = Field(5.0, gt=0, description="A control well further than this many "
                                                                    "robust SDs from its controls' median is masked.")
    top_bounds_pct: tuple[float, float] = Field((70.0, 130.0), description="Bounds of the fitted upper plateau "
                                                "(% inhibition): data are normalised to the controls, so the full-"
                                                "inhibition plateau is near 100 %.")
    bottom_bounds_pct: tuple[float, float] = Field((-30.0, 30.0), description="Bounds of the fitted lower plateau.")
    hill_bounds: tuple[float, float] = Field((0.2, 5.0), description="Bounds of the fitted Hill slope.")
    inactive_max_pct: float = Field(30.0, description="A curve whose fit stays below this % inhibition at the "
                                                      "top concentration is inactive.")
    hill_shallow: float = Field(0.5, description="Hill slopes below this are flagged 'shallow'.")
    hill_steep: float = Field(3.0, description="Hill slopes above this are flagged 'steep'.")
    r2_min: float = Field(0.8, description="Curves with R² below this (and not inactive) are 'poor_fit'.")
    ci_max_log_width: float = Field(1.0, description="Complete curves whose 95 % CI of log10 IC50 is wider "
                                                     "than this (either side) are 'poor_fit'.")
