"""2D structures for the report: core-aligned SVG depictions and the ranked SDF."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

from moltwin.errors import BadInputError

_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


class SeriesCore:
    """The series core with 2D coordinates, used to draw every analogue the same way.

    Parameters
    ----------
    core
        SMILES (dummy atoms such as ``[*:1]`` mark R-groups and match any atom) or
        SMARTS of the core.

    Raises
    ------
    BadInputError
        If ``core`` parses neither as SMILES nor as SMARTS.
    """

    def __init__(self, core: str) -> None:
        mol = Chem.MolFromSmiles(core)
        if mol is None:
            mol = Chem.MolFromSmarts(core)
            if mol is None:
                raise BadInputError(f"series core {core!r} is neither SMILES nor SMARTS")
            mol.UpdatePropertyCache(strict=False)
        rdDepictor.Compute2DCoords(mol)
        params = Chem.AdjustQueryParameters.NoAdjustments()
        params.makeDummiesQueries = True  # an R-group dummy must match the real substituent
        self.reference = mol
        self.pattern = Chem.AdjustQueryProperties(mol, params)


def has_clash(mol: Chem.Mol, fraction_of_bond: float = 0.4) -> bool:
    """True if two non-bonded atoms of the 2D depiction (nearly) overlap."""
    if mol.GetNumAtoms() < 2 or mol.GetNumBonds() == 0:
        return False
    xy = mol.GetConformer().GetPositions()[:, :2]
    distances = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    bonded = np.eye(len(xy), dtype=bool)
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        bonded[i, j] = bonded[j, i] = True
    bond_length = float(np.median([distances[b.GetBeginAtomIdx(), b.GetEndAtomIdx()]
                                   for b in mol.GetBonds()]))
    return bool((distances[~bonded] < fraction_of_bond * bond_length).any())


def depiction_mol(smiles: str, core: SeriesCore | None) -> Chem.Mol | None:
    """Molecule with 2D coordinates, the core drawn as in the reference when it matches.

    A constrained layout can pile a crowded substituent onto the fixed core; then the
    molecule is laid out freely, since a readable drawing beats an aligned one.
    """
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    if mol is None:
        return None
    if core is not None and mol.HasSubstructMatch(core.pattern):
        params = rdDepictor.ConstrainedDepictionParams()
        params.acceptFailure = True
        rdDepictor.GenerateDepictionMatching2DStructure(mol, core.reference, -1, core.pattern,
                                                        params)
        if not has_clash(mol):
            return mol
    rdDepictor.Compute2DCoords(mol)
    return mol


def depict_svg(smiles: str, core: SeriesCore | None = None, legend: str = "",
               width: int = 220, height: int = 160) -> str:
    """Inline-ready SVG (no XML prologue) of one molecule; ``""`` if it will not parse."""
    mol = depiction_mol(smiles, core)
    if mol is None:
        return ""
    # Plain <text> instead of FreeType glyph outlines keeps each drawing ~15 kB smaller.
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height, -1, -1, True)
    drawer.drawOptions().legendFontSize = 14
    drawer.DrawMolecule(mol, legend=legend)
    drawer.FinishDrawing()
    return _XML_PROLOGUE.sub("", drawer.GetDrawingText(), count=1).strip()


def _sd_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else format(float(value), ".6g")
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    text = str(value)
    return text if text != "nan" else None


def write_sdf(table: pd.DataFrame, path: Path, core: SeriesCore | None = None) -> int:
    """Write one 2D record per row with every non-missing column as an SD tag.

    A row whose SMILES does not parse is written as an empty molecule carrying its
    tags and ``structure_error``, so the file has exactly one record per row.

    Returns
    -------
    int
        Number of records written.
    """
    path = Path(path)
    writer = Chem.SDWriter(str(path))
    try:
        for record in table.to_dict("records"):
            mol = depiction_mol(record.get("smiles"), core)
            if mol is None:
                mol = Chem.Mol()
                mol.SetProp("structure_error", f"unparsable SMILES {record.get('smiles')!r}")
            mol.SetProp("_Name", str(record.get("compound_id", "")))
            for key, value in record.items():
                text = _sd_value(value)
                if text is not None:
                    # A blank line would end the tag's value early; keep each on one line.
                    mol.SetProp(str(key), " ".join(text.split("\n")))
            writer.write(mol)
    finally:
        writer.close()
    return len(table)
