"""Per-molecule properties and structural alerts used by the filters.

Each property is computed once per molecule; alert catalogs, user SMARTS and the
SA-score fragment table are built once per process and cached.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from functools import cache

import pandas as pd
from rdkit import Chem, RDConfig
from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

from chem.featurize import to_mols

PROPERTY_COLUMNS = ["mw_da", "clogp", "tpsa_a2", "hbd", "hba", "rotatable_bonds",
                    "heavy_atoms", "formal_charge", "qed", "sa_score"]
# Catalog name -> family label used in rejection reasons ("PAINS: ene_one_ene_A").
ALERT_FAMILIES = {"PAINS_A": "PAINS", "PAINS_B": "PAINS", "PAINS_C": "PAINS",
                  "BRENK": "Brenk", "NIH": "NIH"}


@cache
def _sascorer():
    """RDKit Contrib SA score module (Ertl & Schuffenhauer, J Cheminf 2009, 1:8)."""
    path = f"{RDConfig.RDContribDir}/SA_Score"
    if path not in sys.path:
        sys.path.append(path)
    import sascorer  # noqa: PLC0415 - lives in RDKit Contrib, not on the default path

    sascorer.readFragmentScores()  # load the fragment table once per process
    return sascorer


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility score, 1 (easy) to 10 (hard)."""
    return float(_sascorer().calculateScore(mol))


def qed_score(mol: Chem.Mol, mw: float, clogp: float, tpsa: float, rotb: int) -> float:
    """QED (Bickerton et al., Nat Chem 2012, 4, 90) reusing already computed properties.

    Same result as ``rdkit.Chem.QED.qed`` (the remaining QED inputs are computed
    exactly as there) without computing MW, logP, PSA and rotatable bonds twice.
    The molecule must have no explicit hydrogens (standardized molecules have none).
    """
    props = QED.QEDproperties(
        MW=mw, ALOGP=clogp,
        HBA=sum(len(mol.GetSubstructMatches(p)) for p in QED.Acceptors if mol.HasSubstructMatch(p)),
        HBD=rdMolDescriptors.CalcNumHBD(mol), PSA=tpsa, ROTB=rotb,
        AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(mol), QED.AliphaticRings))),
        ALERTS=sum(1 for alert in QED.StructuralAlerts if mol.HasSubstructMatch(alert)))
    return QED.qed(mol, qedProperties=props)


def compute_properties(mol: Chem.Mol) -> dict[str, float]:
    """The :data:`PROPERTY_COLUMNS` of one molecule (no explicit hydrogens).

    HBD/HBA follow Lipinski's counts (N-H/O-H and N+O atoms), rotatable bonds
    RDKit's strict definition, ``mw_da`` the average molecular weight.
    """
    mw = Descriptors.MolWt(mol)
    clogp = Crippen.MolLogP(mol)
    tpsa = rdMolDescriptors.CalcTPSA(mol)
    rotb = rdMolDescriptors.CalcNumRotatableBonds(mol, rdMolDescriptors.NumRotatableBondsOptions.Strict)
    return {
        "mw_da": mw,
        "clogp": clogp,
        "tpsa_a2": tpsa,
        "hbd": rdMolDescriptors.CalcNumLipinskiHBD(mol),
        "hba": rdMolDescriptors.CalcNumLipinskiHBA(mol),
        "rotatable_bonds": rotb,
        "heavy_atoms": mol.GetNumHeavyAtoms(),
        "formal_charge": Chem.GetFormalCharge(mol),
        "qed": qed_score(mol, mw, clogp, tpsa, rotb),
        "sa_score": sa_score(mol),
    }


@cache
def alert_catalog(name: str) -> FilterCatalog:
    """One RDKit FilterCatalog by name (``PAINS_A``, ``BRENK``, ``NIH`` ...), cached."""
    try:
        which = getattr(FilterCatalogParams.FilterCatalogs, name)
    except AttributeError:
        raise KeyError(f"unknown alert catalog {name}; known: {sorted(ALERT_FAMILIES)}") from None
    params = FilterCatalogParams()
    params.AddCatalog(which)
    return FilterCatalog(params)


def find_alerts(mol: Chem.Mol, catalogs: Sequence[str]) -> list[tuple[str, str]]:
    """``(catalog, alert description)`` for every alert of ``catalogs`` the molecule hits."""
    hits = []
    for name in catalogs:
        for entry in alert_catalog(name).GetMatches(mol):
            hits.append((name, entry.GetDescription()))
    return hits


@cache
def _compiled_smarts(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, Chem.Mol], ...]:
    return tuple((name, Chem.MolFromSmarts(smarts)) for name, smarts in items)


def match_smarts(mol: Chem.Mol, patterns: Mapping[str, str]) -> list[str]:
    """Names of the user SMARTS patterns the molecule matches (patterns cached)."""
    compiled = _compiled_smarts(tuple(sorted(patterns.items())))
    return [name for name, query in compiled if query is not None and mol.HasSubstructMatch(query)]


def properties_frame(smiles: Sequence[str]) -> pd.DataFrame:
    """Properties of many SMILES as a DataFrame (``smiles`` + :data:`PROPERTY_COLUMNS`)."""
    rows = [compute_properties(m) for m in to_mols(list(smiles))]
    frame = pd.DataFrame(rows, columns=PROPERTY_COLUMNS)
    frame.insert(0, "smiles", list(smiles))
    return frame
