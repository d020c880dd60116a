"""The header words of real assay exports, and what to do when a file's headers are not known.

Plate readers, ELNs and CROs name the same column many ways ("Result Value", "Mean",
"Raw Value" ...). :data:`HEADER_ALIASES` lists the spellings MolTwin maps by itself. When a
required column is still missing, :func:`propose_mapping` looks at the unmapped headers *and
their values* and proposes a mapping, written as the exact ``--mapping`` option that applies it
(:func:`mapping_option`). :func:`suspicious_column` finds unmapped columns whose values look like
qualifiers or units: ignoring those would store a censored ``>10000`` as an exact 10000.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from moltwin.errors import BadInputError

#: canonical column -> accepted header spellings (compared lower-case, spaces/_/- ignored)
HEADER_ALIASES: dict[str, list[str]] = {
    "compound_id": ["compound_id", "compound", "compoundid", "id", "molecule", "molecule chembl id",
                    "corporate_id", "name", "cmpd", "cmpd_id", "mol_id", "compound name",
                    "compound number", "compound no", "sample id", "sample", "sample name",
                    "batch id", "registry id", "reg id", "corp id", "substance id", "molecule name",
                    "molecule id", "structure id", "test article", "article", "cmpd name"],
    "smiles": ["smiles", "canonical_smiles", "structure", "molecule smiles", "structure smiles",
               "compound smiles", "smiles string", "isomeric smiles", "parent smiles"],
    "assay_id": ["assay_id", "assay", "assay chembl id", "protocol", "target", "assay name",
                 "protocol name", "protocol id", "experiment", "experiment id", "assay code",
                 "assay description", "screen", "study"],
    "assay_version": ["assay_version", "assay version", "protocol version", "version",
                      "method version", "assay revision"],
    "endpoint": ["endpoint", "standard type", "type", "activity_type", "readout", "measure",
                 "result type", "activity type", "measurement type", "readout type",
                 "assay endpoint", "parameter", "result name", "data type", "value type",
                 "endpoint type"],
    "qualifier": ["qualifier", "standard relation", "relation", "operator_sign", "modifier",
                  "prefix", "op", "sign", "operator sign", "relation sign", "comparator",
                  "censor", "censoring", "result qualifier", "value qualifier",
                  "activity qualifier", "standard qualifier", "qual", "mod", "result operator",
                  "relational operator", "result prefix", "value prefix"],
    "value": ["value", "standard value", "result", "activity", "activity_value", "result value",
              "mean", "raw value", "reported value", "average", "avg", "mean value",
              "geomean", "geometric mean", "numeric value", "value numeric", "result numeric",
              "final value", "activity value", "measured value", "response"],
    "units": ["units", "standard units", "unit", "result units", "result unit", "value units",
              "value unit", "activity units", "activity unit", "uom", "unit of measure",
              "concentration unit of result"],
    "p_value": ["pchembl value", "pchembl", "p_activity", "pactivity"],
    "test_concentration": ["test_concentration", "concentration", "conc", "test concentration",
                           "tested concentration", "screening concentration", "dose"],
    "test_concentration_units": ["test_concentration_units", "concentration units", "conc_units",
                                 "concentration unit", "conc unit", "dose units", "dose unit"],
    "replicate": ["replicate", "run_id", "run", "replicate_id", "plate", "rep", "replicate number",
                  "plate id", "plate barcode", "barcode", "well"],
    "test_date": ["test_date", "date", "assay_date", "measured_on", "document year", "run date",
                  "experiment date", "assay date", "measurement date", "date tested", "test date"],
    "operator": ["operator", "scientist", "user", "analyst", "chemist", "biologist", "tested by",
                 "performed by", "experimenter"],
}
REQUIRED = ("compound_id", "value")

_QUALIFIER_VALUES = {"<", ">", "=", "<=", ">=", "=<", "=>", "~", "≤", "≥", "'<'", "'>'", "'='"}
_UNIT_VALUES = {"m", "mm", "um", "µm", "μm", "nm", "pm", "mol/l", "mmol/l", "umol/l", "µmol/l",
                "nmol/l", "pmol/l", "%", "percent", "micromolar", "nanomolar", "ug/ml",
                "µg/ml", "mg/ml", "ng/ml"}
_NUMBER = re.compile(r"^\s*(<=|>=|<|>|=|~)?\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")


def norm_header(header: str) -> str:
    """A header as it is compared: lower-case, quotes and outer spaces off, ``_``/``-`` as spaces."""
    text = header.strip().strip('"').lower().replace("_", " ").replace("-", " ")
    return " ".join(text.split())


LOOKUP = {norm_header(alias): canon for canon, aliases in HEADER_ALIASES.items()
          for alias in aliases}


def canonical_column(header: str) -> str | None:
    """The canonical column a header names, or None."""
    return LOOKUP.get(norm_header(header))


def _filled(values: list[str]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


def value_kind(values: list[str]) -> str | None:
    """``'qualifier'``, ``'unit'``, ``'number'`` or None for a column's values (most must agree)."""
    cells = _filled(values)
    if not cells:
        return None
    need = max(1, int(0.8 * len(cells)))
    if sum(c in _QUALIFIER_VALUES for c in cells) >= need:
        return "qualifier"
    if sum(c.lower().replace(" ", "") in _UNIT_VALUES for c in cells) >= need:
        return "unit"
    if sum(bool(_NUMBER.match(c)) for c in cells) >= need:
        return "number"
    return None


def suspicious_column(header: str, values: list[str]) -> str | None:
    """Why an *unmapped* column must not be ignored, or None when ignoring it is safe."""
    kind = value_kind(values)
    canon = {"qualifier": "qualifier", "unit": "units"}.get(kind or "")
    if canon is None:
        return None
    what = "qualifiers (<, >, =)" if kind == "qualifier" else "units"
    return (f"column '{header}' is not recognised but its values look like {what}; ignoring it "
            f"could store a censored or rescaled value as exact. Map it with "
            f"{mapping_option({header: canon})} (or rename the column to '{canon}')")


_EVIDENCE = {"value": "number", "qualifier": "qualifier", "units": "unit"}


def propose_mapping(headers: list[str], columns: dict[str, list[str]], missing: list[str]
                    ) -> dict[str, str]:
    """Propose ``{file header: canonical column}`` for each missing canonical column.

    Parameters
    ----------
    headers
        The file's unmapped headers.
    columns
        Each unmapped header's values (a sample is enough).
    missing
        Canonical columns the file lacks.
    """
    proposal: dict[str, str] = {}
    free = list(headers)
    for canon in missing:
        best, best_score = None, 0.0
        for header in free:
            name = norm_header(header)
            score = max(difflib.SequenceMatcher(None, name, norm_header(a)).ratio()
                        for a in HEADER_ALIASES[canon])
            kind = value_kind(columns.get(header, []))
            if canon in _EVIDENCE:
                score += 0.6 if kind == _EVIDENCE[canon] else -0.3
            elif canon == "compound_id":
                cells = _filled(columns.get(header, []))
                score += 0.3 if cells and kind is None and len(set(cells)) == len(cells) else 0.0
            if score > best_score:
                best, best_score = header, score
        if best is not None and best_score >= 0.6:
            proposal[best] = canon
            free.remove(best)
    return proposal


def mapping_option(mapping: dict[str, str]) -> str:
    """The exact ``--mapping`` option that applies ``mapping`` on the command line."""
    body = ",".join(f"{header}={canon}" for header, canon in mapping.items())
    return "--mapping '" + body.replace("'", "'\\''") + "'"


def parse_mapping_option(text: str) -> dict[str, str]:
    """``--mapping`` as given: a YAML file ``{file header: column}`` or inline ``'A=value,B=units'``."""
    path = Path(text)
    if "=" not in text or path.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise BadInputError(f"cannot read the mapping: {exc}", file=text) from exc
        if not isinstance(loaded, dict):
            raise BadInputError("the mapping must be a YAML mapping {file header: column}", file=text)
        return {str(k): str(v) for k, v in loaded.items()}
    out = {}
    for part in text.split(","):
        header, sep, canon = part.partition("=")
        if not sep or not header.strip() or canon.strip() not in HEADER_ALIASES:
            raise BadInputError(f"cannot read the mapping item '{part.strip()}': write 'FILE HEADER="
                                f"column' with column one of {', '.join(HEADER_ALIASES)}",
                                field="--mapping")
        out[header.strip()] = canon.strip()
    return out
