"""Assay endpoints, units and qualifiers: normalization to nM and pActivity.

Concentration endpoints (IC50, Ki, Kd, EC50) convert to nM and to
pActivity = 9 − log10(value in nM). On the p-scale the direction of a
qualifier flips: ``IC50 > 10 µM`` (weaker than 10 µM) is ``pIC50 < 5``.
"""

from __future__ import annotations

import math
import re

CONCENTRATION_ENDPOINTS = {"IC50", "KI", "KD", "EC50"}
P_ENDPOINTS = {"PIC50": "IC50", "PKI": "KI", "PKD": "KD", "PEC50": "EC50"}
PERCENT_ENDPOINTS = {"PCT_INHIBITION", "%INHIBITION", "% INHIBITION", "INHIBITION", "PERCENT_INHIBITION"}

#: factor to nM for each accepted spelling (µ as micro sign U+00B5 and Greek mu U+03BC).
UNIT_TO_NM = {
    "m": 1e9, "mol/l": 1e9,
    "mm": 1e6, "mmol/l": 1e6,
    "um": 1e3, "µm": 1e3, "μm": 1e3, "umol/l": 1e3, "µmol/l": 1e3, "micromolar": 1e3,
    "nm": 1.0, "nmol/l": 1.0, "nanomolar": 1.0,
    "pm": 1e-3, "pmol/l": 1e-3,
}
QUALIFIERS = {"=", "<", ">", "<=", ">=", "~"}
_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "~": "="}
_VALUE_RE = re.compile(r"^\s*(<=|>=|=<|=>|<|>|=|~)?\s*([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)\s*$")


def canonical_endpoint(text: str) -> str | None:
    """Map an endpoint spelling to ``IC50``/``Ki``/``Kd``/``EC50``/``pIC50``.../``pct_inhibition``."""
    key = text.strip().upper().replace(" ", "").replace("-", "_")
    if key in {"IC50", "KI", "KD", "EC50"}:
        return {"IC50": "IC50", "KI": "Ki", "KD": "Kd", "EC50": "EC50"}[key]
    if key in P_ENDPOINTS:
        return "p" + {"IC50": "IC50", "KI": "Ki", "KD": "Kd", "EC50": "EC50"}[P_ENDPOINTS[key]]
    if key.replace(" ", "") in {k.replace(" ", "") for k in PERCENT_ENDPOINTS} or key in {"%INH", "PCTINHIBITION"}:
        return "pct_inhibition"
    return None


def parse_value(text: str, *, comma_decimal: bool = False) -> tuple[str, float]:
    """Split ``">10"`` into (qualifier, value). Raises ValueError with a plain reason."""
    raw = text.strip()
    if not raw:
        raise ValueError("value is empty")
    m = _VALUE_RE.match(raw)
    if not m:
        raise ValueError(f"'{raw}' is not a number (accepted: 12.5, >10, <=0.3, ~5)")
    qual = {"=<": "<=", "=>": ">="}.get(m.group(1) or "=", m.group(1) or "=")
    number = m.group(2)
    if "," in number:
        if not comma_decimal:
            raise ValueError(f"'{raw}' uses a decimal comma; use a point, or upload with comma decimals enabled")
        number = number.replace(",", ".")
    return qual, float(number)


def normalize_qualifier(text: str) -> str:
    q = text.strip().strip("'\"").strip().replace("=<", "<=").replace("=>", ">=") or "="
    if q not in QUALIFIERS:
        raise ValueError(f"qualifier '{text}' is not one of = < > <= >= ~")
    return q


def to_nm(value: float, units: str) -> float:
    """Convert a concentration to nM; raises ValueError for unknown units."""
    factor = UNIT_TO_NM.get(units.strip().lower().replace(" ", ""))
    if factor is None:
        raise ValueError(f"unknown concentration unit '{units}' (accepted: M, mM, µM/uM, nM, pM)")
    return value * factor


def p_from_nm(value_nm: float) -> float:
    return 9.0 - math.log10(value_nm)


def p_qualifier(endpoint: str, qualifier: str) -> str:
    """Qualifier on the p-scale for a measurement's qualifier on its own scale."""
    if endpoint in {"IC50", "Ki", "Kd", "EC50"}:
        return _FLIP[qualifier]
    return "=" if qualifier == "~" else qualifier
