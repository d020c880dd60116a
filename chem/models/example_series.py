"""Load the two example series shipped in ``data/`` as activity tables for training.

Both return the training-table contract ``compound_id, smiles, p_activity, qualifier``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rdkit import Chem

# RT ln(10) in kcal/mol at 298.15 K (R = 1.98720e-3 kcal/(mol K)): converts a binding
# free energy to a p-activity, pActivity = -dG / (RT ln 10).
RT_LN10_KCAL_PER_MOL_298K = 1.3642


def load_freewilson_series(smi_path: str | Path, act_path: str | Path) -> pd.DataFrame:
    """Join the ChEMBL Free-Wilson ``.smi`` (``SMILES name``) and ``_act.csv`` (``Name,Act``) files.

    Parameters
    ----------
    smi_path
        Whitespace-separated SMILES file without a header: SMILES then compound name.
    act_path
        CSV with columns ``Name`` and ``Act`` (p-activity).

    Returns
    -------
    pandas.DataFrame
        ``compound_id, smiles, p_activity, qualifier`` (all qualifiers ``=``), in ``.smi`` order.
    """
    smiles = pd.read_csv(smi_path, sep=r"\s+", header=None, names=["smiles", "compound_id"], dtype=str)
    activity = pd.read_csv(act_path, dtype={"Name": str}).rename(
        columns={"Name": "compound_id", "Act": "p_activity"})
    table = smiles.merge(activity[["compound_id", "p_activity"]], on="compound_id", how="inner")
    table["qualifier"] = "="
    return table[["compound_id", "smiles", "p_activity", "qualifier"]]


def load_tyk2_ligands(sdf_path: str | Path, dg_tag: str = "r_user_dG.exp") -> pd.DataFrame:
    """Read the Tyk2 ligand SDF and convert experimental binding free energies to p-activities.

    Parameters
    ----------
    sdf_path
        SDF with one posed ligand per record, its name in the title line.
    dg_tag
        SD tag holding the experimental binding free energy in kcal/mol.

    Returns
    -------
    pandas.DataFrame
        ``compound_id, smiles, p_activity, qualifier, dg_exp_kcal_per_mol`` with
        ``p_activity = -dG / 1.3642`` (298 K).
    """
    rows = []
    for mol in Chem.SDMolSupplier(str(sdf_path), removeHs=False):
        if mol is None:
            continue
        dg = float(mol.GetProp(dg_tag))
        rows.append({"compound_id": mol.GetProp("_Name"), "smiles": Chem.MolToSmiles(Chem.RemoveHs(mol)),
                     "p_activity": -dg / RT_LN10_KCAL_PER_MOL_298K, "qualifier": "=",
                     "dg_exp_kcal_per_mol": dg})
    return pd.DataFrame(rows, columns=["compound_id", "smiles", "p_activity", "qualifier",
                                       "dg_exp_kcal_per_mol"])
