"""Small real candidate tables for the ranking tests.

Structures and potencies are real: the 16 Tyk2 ligands (pKd from the experimental
ΔG in ``r_user_dG.exp``) and the ChEMBL2321810 sulfonamide series (pActivity ``Act``).
Properties are computed with RDKit, and predictions come from a leave-one-out
Tanimoto k-nearest-neighbour model on the compounds treated as measured. Only the
simulation columns are stand-ins (no MD in unit tests): a fixed linear function of the
measured potency, labelled as such, so the ranking logic has realistic shapes to chew on.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams
from rdkit.Contrib.SA_Score import sascorer

DATA = Path(__file__).resolve().parents[2] / "data"
TYK2_CORE = "O=C(Nc1ccnc(NC(=O)[*:1])c1)c1c(Cl)cccc1Cl"
# RT ln 10 at 298.15 K in kcal/mol: pKd = -ΔG / (RT ln 10).
RT_LN10_KCAL_MOL = 1.987204e-3 * 298.15 * math.log(10)
Z80, Z90 = 1.2815516, 1.6448536


@lru_cache(maxsize=1)
def _alert_catalog() -> FilterCatalog:
    params = FilterCatalogParams()
    params.AddCatalog(FilterCatalogParams.FilterCatalogs.PAINS)
    params.AddCatalog(FilterCatalogParams.FilterCatalogs.BRENK)
    return FilterCatalog(params)


def tyk2_records() -> list[tuple[str, str, float]]:
    """(compound_id, canonical SMILES, pKd) for the 16 Tyk2 ligands."""
    out = []
    for mol in Chem.SDMolSupplier(str(DATA / "tyk2" / "ligands.sdf"), removeHs=True):
        p = -mol.GetDoubleProp("r_user_dG.exp") / RT_LN10_KCAL_MOL
        out.append((mol.GetProp("_Name"), Chem.MolToSmiles(mol), round(p, 2)))
    return out


def chembl_records(n: int, stride: int = 3) -> list[tuple[str, str, float]]:
    """``n`` compounds (every ``stride``-th) of the ChEMBL sulfonamide series with pActivity.

    A stride spreads the pick over the series, which is ordered by ChEMBL id and drifts
    in potency along the file.
    """
    act = pd.read_csv(DATA / "chembl_freewilson" / "CHEMBL2321810_act.csv")
    act_by_name = dict(zip(act["Name"].astype(str), act["Act"]))
    out = []
    lines = (DATA / "chembl_freewilson" / "CHEMBL2321810.smi").read_text().splitlines()
    for line in lines[::stride]:
        smiles, name = line.split()[:2]
        if name in act_by_name:
            out.append((f"CHEMBL-{name}", smiles, float(act_by_name[name])))
        if len(out) == n:
            break
    return out


def _properties(compound_id: str, mol: Chem.Mol, fps: dict, fp) -> dict:
    alerts = [entry.GetDescription() for entry in _alert_catalog().GetMatches(mol)]
    others = [v for k, v in fps.items() if k != compound_id]
    return {"compound_id": compound_id, "mw_da": Descriptors.MolWt(mol),
            "clogp": Crippen.MolLogP(mol), "tpsa_a2": rdMolDescriptors.CalcTPSA(mol),
            "hbd": rdMolDescriptors.CalcNumHBD(mol),
            "hba": rdMolDescriptors.CalcNumHBA(mol),
            "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(mol),
            "heavy_atoms": mol.GetNumHeavyAtoms(), "formal_charge": Chem.GetFormalCharge(mol),
            "qed": QED.qed(mol), "sa_score": sascorer.calculateScore(mol),
            "alerts": "; ".join(alerts),
            "max_sim_known": max(DataStructs.BulkTanimotoSimilarity(fp, others)) if others
            else np.nan}


def _knn_prediction(compound_id: str, fp, train: dict, k: int = 3) -> dict:
    ids = [i for i in train if i != compound_id]
    sims = np.array(DataStructs.BulkTanimotoSimilarity(fp, [train[i][0] for i in ids]))
    order = np.argsort(-sims, kind="mergesort")[:k]
    w = np.clip(sims[order], 1e-3, None)
    y = np.array([train[ids[j]][1] for j in order])
    mean = float(np.average(y, weights=w))
    # Spread of the neighbours plus a floor for the assay/model noise.
    spread = np.average((y - mean) ** 2, weights=w)
    std = float(math.sqrt(spread + 0.3 ** 2 + (1 - sims[order[0]]) ** 2))
    return {"compound_id": compound_id, "pred_p_activity": mean, "pred_std": std,
            "lower_80": mean - Z80 * std, "upper_80": mean + Z80 * std,
            "lower_90": mean - Z90 * std, "upper_90": mean + Z90 * std,
            "max_train_similarity": float(sims[order[0]]), "in_domain": bool(sims[order[0]] >= 0.4),
            "model_id": f"knn{k}-loo"}


def build_tables(records: list[tuple[str, str, float]], measured_every: int = 2,
                 n_simulated: int = 6) -> dict[str, pd.DataFrame]:
    """Stage tables (candidates, filtered_props, predictions, measurements, simulations).

    Every ``measured_every``-th compound is treated as measured (n = 2, SD 0.2); all get a
    kNN prediction trained on the measured ones; the ``n_simulated`` most potent measured
    compounds get stand-in simulation values, and one more compound a failed simulation.
    """
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    mols = {cid: Chem.MolFromSmiles(smi) for cid, smi, _ in records}
    fps = {cid: generator.GetFingerprint(m) for cid, m in mols.items()}
    candidates = pd.DataFrame([{"compound_id": cid, "smiles": Chem.MolToSmiles(mols[cid]),
                                "inchikey": Chem.MolToInchiKey(mols[cid]), "origin": "dataset"}
                               for cid, _, _ in records])
    props = pd.DataFrame([_properties(cid, mols[cid], fps, fps[cid]) for cid, _, _ in records])
    measured = [(cid, p) for i, (cid, _, p) in enumerate(records) if i % measured_every == 0]
    measurements = pd.DataFrame([{"compound_id": cid, "measured_p_activity": p,
                                  "measured_sd": 0.2, "measured_n": 2, "measured_qualifier": "="}
                                 for cid, p in measured])
    train = {cid: (fps[cid], p) for cid, p in measured}
    predictions = pd.DataFrame([_knn_prediction(cid, fps[cid], train) for cid, _, _ in records])
    potent = sorted(measured, key=lambda t: -t[1])
    sims = [{"compound_id": cid, "sim_status": "ok",
             # Stand-in numbers, not MD results: more potent -> more negative and more stable.
             "mmgbsa_kcal_mol": round(-6.0 * p + 8.0, 1), "mmgbsa_sem_kcal_mol": 1.5,
             "frac_frames_within_2A": round(min(0.95, 0.1 * p), 2), "rmsd_mean_A": 1.2}
            for cid, p in potent[:n_simulated]]
    if len(potent) > n_simulated:
        sims.append({"compound_id": potent[n_simulated][0], "sim_status": "failed",
                     "mmgbsa_kcal_mol": np.nan, "mmgbsa_sem_kcal_mol": np.nan,
                     "frac_frames_within_2A": np.nan, "rmsd_mean_A": np.nan})
    return {"candidates": candidates, "filtered_props": props, "predictions": predictions,
            "measurements": measurements, "simulations": pd.DataFrame(sims)}
