"""Feature matrices for activity models, computed from SMILES strings.

Morgan count fingerprints come from ``rdkit.Chem.rdFingerprintGenerator``; a short
list of cheap whole-molecule RDKit descriptors is available as an alternative or
addition. RDKit Mols live only inside this module: callers get numpy arrays,
canonical SMILES and per-row error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import Descriptors, rdFingerprintGenerator, rdMolDescriptors

from chem.models.settings import ModelSettings

# Cheap (sub-millisecond) descriptors; the full RDKit list costs ~5 ms/molecule,
# too slow for 10k-molecule prediction batches.
DESCRIPTOR_FUNCTIONS = {
    "mol_wt": Descriptors.MolWt,
    "logp": Descriptors.MolLogP,
    "mol_mr": Descriptors.MolMR,
    "tpsa": rdMolDescriptors.CalcTPSA,
    "labute_asa": rdMolDescriptors.CalcLabuteASA,
    "hbd": rdMolDescriptors.CalcNumHBD,
    "hba": rdMolDescriptors.CalcNumHBA,
    "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds,
    "rings": rdMolDescriptors.CalcNumRings,
    "aromatic_rings": rdMolDescriptors.CalcNumAromaticRings,
    "aliphatic_rings": rdMolDescriptors.CalcNumAliphaticRings,
    "fraction_csp3": rdMolDescriptors.CalcFractionCSP3,
    "heavy_atoms": lambda m: m.GetNumHeavyAtoms(),
    "heteroatoms": rdMolDescriptors.CalcNumHeteroatoms,
    "formal_charge": Chem.GetFormalCharge,
    "halogens": lambda m: sum(a.GetAtomicNum() in (9, 17, 35, 53) for a in m.GetAtoms()),
}


@dataclass(slots=True)
class FeatureBatch:
    """Features of a list of SMILES, row-aligned with the input.

    Attributes
    ----------
    X
        Model features, float32, shape (n_ok, n_features): rows of parsed molecules only.
    bits
        Binary Morgan fingerprints (bool, shape (n_ok, n_bits)) for Tanimoto similarity.
    ok
        Boolean mask over the input: True where the SMILES parsed.
    canonical_smiles
        Canonical SMILES per input row ("" where parsing failed).
    errors
        Error message per input row ("" where parsing succeeded).
    """

    X: np.ndarray
    bits: np.ndarray
    ok: np.ndarray
    canonical_smiles: list[str]
    errors: list[str]


def parse_smiles(smiles: str) -> tuple[Chem.Mol | None, str]:
    """Parse one SMILES; return ``(mol, "")`` or ``(None, reason)``."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None, "empty or missing SMILES"
    with rdBase.BlockLogs():  # a bad SMILES is reported as a row, not as log noise
        mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None:
        return None, f"unparsable SMILES: {smiles!r}"
    if mol.GetNumAtoms() == 0:
        return None, "SMILES has no atoms"
    return mol, ""


def _descriptor_row(mol: Chem.Mol) -> list[float]:
    return [float(fn(mol)) for fn in DESCRIPTOR_FUNCTIONS.values()]


def featurize_smiles(smiles: list[str], settings: ModelSettings) -> FeatureBatch:
    """Compute model features and fingerprint bits for a list of SMILES.

    Parameters
    ----------
    smiles
        Input SMILES, one per compound.
    settings
        Feature choice (``features``, ``morgan_radius``, ``morgan_n_bits``,
        ``morgan_chirality``).

    Returns
    -------
    FeatureBatch
        Features for the parsable rows plus a per-row ``ok`` mask and error text.
    """
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=settings.morgan_radius, fpSize=settings.morgan_n_bits,
        includeChirality=settings.morgan_chirality)
    counts, descriptors, canonical, errors, ok = [], [], [], [], []
    for smi in smiles:
        mol, error = parse_smiles(smi)
        ok.append(mol is not None)
        errors.append(error)
        if mol is None:
            canonical.append("")
            continue
        canonical.append(Chem.MolToSmiles(mol))
        counts.append(generator.GetCountFingerprintAsNumPy(mol).astype(np.float32))
        if settings.features != "morgan_counts":
            descriptors.append(_descriptor_row(mol))
    n_bits = settings.morgan_n_bits
    count_matrix = np.vstack(counts) if counts else np.zeros((0, n_bits), np.float32)
    bits = count_matrix > 0
    if settings.features == "morgan_counts":
        X = count_matrix
    else:
        desc = np.asarray(descriptors, dtype=np.float32).reshape(-1, len(DESCRIPTOR_FUNCTIONS))
        X = desc if settings.features == "descriptors" else np.hstack([count_matrix, desc])
    return FeatureBatch(X=np.ascontiguousarray(X, dtype=np.float32), bits=bits,
                        ok=np.asarray(ok, dtype=bool), canonical_smiles=canonical, errors=errors)


def tanimoto_matrix(query_bits: np.ndarray, reference_bits: np.ndarray) -> np.ndarray:
    """Tanimoto similarity of every query to every reference binary fingerprint.

    Parameters
    ----------
    query_bits, reference_bits
        Boolean arrays of shape (n_query, n_bits) and (n_ref, n_bits).

    Returns
    -------
    numpy.ndarray
        float32 array (n_query, n_ref); two empty fingerprints count as similarity 0.
    """
    q = query_bits.astype(np.float32)
    r = reference_bits.astype(np.float32)
    common = q @ r.T  # |A & B| via a dot product of 0/1 vectors (BLAS, fast for 10k x 1k)
    union = q.sum(axis=1)[:, None] + r.sum(axis=1)[None, :] - common
    return np.divide(common, union, out=np.zeros_like(common), where=union > 0)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean fingerprint matrix 8x smaller for storage."""
    return np.packbits(bits, axis=1)


def unpack_bits(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`."""
    return np.unpackbits(packed, axis=1, count=n_bits).astype(bool)
